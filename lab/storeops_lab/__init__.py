"""The lab: the inventory's hosts as systemd containers under podman, reachable by SSH, and
the stateful network device emulators (:mod:`storeops_lab.devices`).

- :mod:`storeops_lab.lab`: ``up`` builds the lab an inventory describes (and repairs a broken
  one), ``down`` removes it, ``status`` probes every host;
- :mod:`storeops_lab.image`: ``ensure_image`` builds the base image from ``lab/image/`` when
  its current version is missing (see ``lab/image/README.md``);
- :mod:`storeops_lab.cli_lab`: ``storeops lab ...``, registered by entry point.

The package itself imports nothing: each module imports the modules it uses, so that the
import graph has no cycle through the package.
"""
