"""The MLPS 2.0 level-2 compliance feature: the control catalogue, waivers, ``storeops audit``.

A feature like :mod:`storeops.workstation`: registered by entry points (its validator rules,
``storeops.validators``; its subcommands, ``storeops.commands``), never imported by the core.
"""
