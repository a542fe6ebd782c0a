"""The lab base image: ``lab/image/build.sh`` builds it, this module makes sure it exists.

The image is named after a content hash of its build inputs, so an image that exists
is an image that is current: ``ensure_image`` builds only when that name is missing
(the script computes the hash; this module never computes it a second way).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from storeops.paths import REPO_ROOT
from storeops_lab import podman

BUILD_SCRIPT = REPO_ROOT / "lab" / "image" / "build.sh"
BUILD_TIMEOUT = 1800.0


class ImageBuildError(RuntimeError):
    """The lab image could not be built (the build's own output says why)."""


def image_ref() -> str:
    """``localhost/storeops-lab:<hash of the build inputs>``."""
    completed = subprocess.run(
        [str(BUILD_SCRIPT), "--print-ref"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        raise ImageBuildError(f"{BUILD_SCRIPT} --print-ref failed: {completed.stderr.strip()}")
    return completed.stdout.strip()


def ensure_image(*, force: bool = False, say: Callable[[str], None] = print) -> str:
    """Build the image unless its current version exists; return its reference.

    The build's own progress goes straight to this process's stdout and stderr.
    """
    ref = image_ref()
    if not force and podman.image_id(ref) is not None:
        return ref
    say(f"building the lab image {ref} (a few minutes the first time)")
    started = time.monotonic()
    command = [str(BUILD_SCRIPT), *(["--force"] if force else [])]
    try:
        completed = subprocess.run(command, timeout=BUILD_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise ImageBuildError(f"{BUILD_SCRIPT} took more than {BUILD_TIMEOUT:g} s") from None
    if completed.returncode != 0:
        raise ImageBuildError(f"{BUILD_SCRIPT} failed (exit status {completed.returncode})")
    if podman.image_id(ref) is None:
        raise ImageBuildError(f"{BUILD_SCRIPT} succeeded but {ref} does not exist")
    say(f"lab image {ref} built in {time.monotonic() - started:.0f} s")
    return ref
