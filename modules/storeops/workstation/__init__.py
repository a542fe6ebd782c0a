"""Store workstations: the inventory's catalogue, the asset register and the pyinfra deploys.

* :mod:`.schema`    the ``workstation_*`` variables and the asset register (pydantic models)
* :mod:`.settings`  the ``workstation_*`` variables of an inventory, parsed per level
* :mod:`.plan`      what one workstation must look like, from the validated inventory
* :mod:`.register`  the asset register, ``inventory/<group>/assets/<store>.yml``
* :mod:`.identity`  the hostname convention and the machine's identity (serial, model, MAC)
* :mod:`.deploy`    pyinfra facts and operations (imported only by ``deploys/``)
* :mod:`.cli`       ``storeops workstation provision|decommission``
"""
