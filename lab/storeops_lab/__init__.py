"""The lab: the inventory's hosts as systemd containers under podman, reachable by SSH.

``up`` builds the lab an inventory describes (and repairs a broken one), ``down``
removes it, ``status`` probes every host. ``ensure_image`` builds the base image from
``lab/image/`` when its current version is missing (see ``lab/image/README.md``).
"""

from storeops_lab.errors import LabError
from storeops_lab.image import ImageBuildError, ensure_image, image_ref
from storeops_lab.lab import DownResult, HostStatus, UpResult, down, status, up
from storeops_lab.ssh import SshFiles, default_ssh_files

__all__ = [
    "DownResult",
    "HostStatus",
    "ImageBuildError",
    "LabError",
    "SshFiles",
    "UpResult",
    "default_ssh_files",
    "down",
    "ensure_image",
    "image_ref",
    "status",
    "up",
]
