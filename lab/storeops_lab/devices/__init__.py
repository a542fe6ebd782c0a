"""Stateful network device emulators for the lab: Cisco IOS and Huawei VRP over SSH.

Each emulated device keeps a real running configuration in memory, files the configuration
commands it receives into it, persists it on ``write memory`` / ``save`` and boots from the
saved file when restarted; ``show``/``display`` commands print it the way the real operating
system does, so that netmiko drivers, ntc-templates parsers and hier_config remediation work
against it as against a device. Built on FakeNOS (its SSH server, shell and NOS plugins; see
:mod:`storeops_lab.devices.server`); the platforms are
:mod:`storeops_lab.devices.cisco_ios` and :mod:`storeops_lab.devices.huawei_vrp`, whose
docstrings say what is emulated and what is not.

Usage (:mod:`storeops_lab.devices.start`)::

    handle = start_device("sh01-sw1", "cisco_ios", 0, "admin", "secret", state_dir)
    ConnectHandler(**handle.netmiko_params(), password="secret")
    ...
    handle.stop()

Port 0 picks a free port (``handle.port`` says which). Several devices can run in one
process, each on its own port; every server binds 127.0.0.1 only.

Safety nets and lock-outs (see :mod:`storeops_lab.devices.device`): Cisco IOS emulates the
configuration archive and its revert timer (``configure terminal revert timer``,
``configure confirm``), Huawei VRP the scheduled reboot to the saved configuration
(``schedule reboot delay``, ``undo schedule reboot``); a device refuses new connections
once its running configuration no longer holds one of its ``management_addresses`` on an
up interface or no longer allows SSH. ``seconds_per_minute`` scales the devices' timers for
tests (lab-only: nothing on the CLI shows it).

The package itself imports nothing, so that the platforms can import its modules without
a cycle.
"""
