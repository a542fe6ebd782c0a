#!/usr/bin/env bash
# Build the lab base image: debootstrap (minbase bookworm) from the configured Debian
# mirror, chroot apt-get install of packages.txt, the files/ overlay, a `storeops` user
# with NOPASSWD sudo, no SSH host keys, an empty machine-id; then `podman import`.
#
#   build.sh               build unless localhost/storeops-lab:<hash> exists (the cache)
#   build.sh --force       build even if it exists
#   build.sh --print-ref   print localhost/storeops-lab:<hash> and exit
#
# <hash> is a short content hash of the build inputs: this script, packages.txt and
# files/ (not *.md). The image is also tagged localhost/storeops-lab:latest.
# The debootstrap output is cached as a tarball under /var/cache/storeops/ (keyed by
# suite, variant and mirror); the build never depends on that cache being there.
# Run as root. Needs: podman, debootstrap, flock, tar, sha256sum (lab/host-setup.sh).
set -euo pipefail

IMAGE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPOSITORY=localhost/storeops-lab
SUITE=bookworm
VARIANT=minbase
CACHE_DIR=${STOREOPS_CACHE_DIR:-/var/cache/storeops}
SOURCES=/etc/apt/sources.list.d/debian.sources
BUILD_USER=storeops

log() { echo "lab-image: $*"; }
die() { echo "lab-image: error: $*" >&2; exit 1; }

input_hash() {
  (cd "$IMAGE_DIR" && find . -type f ! -name '*.md' -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum | cut -c1-12)
}

# The first URI of the deb822 stanza that serves "deb" for the suite.
mirror_from_sources() {
  [[ -r $SOURCES ]] || die "$SOURCES not found: cannot tell which Debian mirror to use"
  awk -v suite="$SUITE" '
    function flush() {
      if (uri != "" && types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ")) {
        print uri; found = 1; exit
      }
      uri = ""; types = ""; suites = ""
    }
    /^[ \t]*$/ { flush(); next }
    /^#/ { next }
    { value = $0; sub(/^[^:]*:[ \t]*/, "", value) }
    tolower($1) == "types:"  { types = value }
    tolower($1) == "suites:" { suites = value }
    tolower($1) == "uris:"   { uri = $2 }
    END { if (!found) flush() }
  ' "$SOURCES"
}

# ---------------------------------------------------------------------- timings
declare -a TIMINGS=()
STEP_START=0
step() { STEP_START=$(date +%s.%N); log "$*"; }
done_step() {
  local elapsed
  elapsed=$(awk -v a="$STEP_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  TIMINGS+=("$(printf '%-22s %6s s' "$1" "$elapsed")")
}

# ---------------------------------------------------------------------- work dir
WORK=""
ROOTFS=""
cleanup() {
  if [[ -n $ROOTFS ]] && mountpoint -q "$ROOTFS/proc"; then
    umount "$ROOTFS/proc" || umount -l "$ROOTFS/proc" || true
  fi
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ -n $ROOTFS ]] && mountpoint -q "$ROOTFS/proc"; then
      echo "lab-image: $ROOTFS/proc is still mounted; leaving $WORK in place" >&2
    else
      rm -rf --one-file-system "$WORK"
    fi
  fi
}

# ---------------------------------------------------------------------- steps
base_rootfs() {
  local mirror=$1 key tarball
  key=$(printf '%s %s %s\n' "$SUITE" "$VARIANT" "$mirror" | sha256sum | cut -c1-12)
  tarball="$CACHE_DIR/debootstrap-$SUITE-$VARIANT-$key.tar"
  if [[ -s $tarball ]]; then
    step "base: unpacking cached $tarball"
    if tar -C "$ROOTFS" --numeric-owner -xpf "$tarball"; then
      done_step "base (cached)"
      return
    fi
    log "cached base is unusable; removing it and running debootstrap"
    rm -f "$tarball"
    find "$ROOTFS" -mindepth 1 -delete
  fi
  step "debootstrap --variant=$VARIANT $SUITE from $mirror"
  debootstrap --variant="$VARIANT" "$SUITE" "$ROOTFS" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  done_step "debootstrap"
  step "caching the base as $tarball"
  mkdir -p "$CACHE_DIR"
  if tar -C "$ROOTFS" --numeric-owner -cf "$tarball.tmp" .; then
    mv "$tarball.tmp" "$tarball"
  else
    rm -f "$tarball.tmp"
    log "could not cache the base (continuing)"
  fi
  done_step "cache base"
}

read_packages() {
  sed -e 's/#.*//' -e 's/[[:space:]]\+/\n/g' "$IMAGE_DIR/packages.txt" | sed '/^$/d'
}

install_packages() {
  local -a packages
  mapfile -t packages < <(read_packages)
  step "chroot apt-get install (${#packages[@]} packages)"
  # The image uses the same apt sources as this machine (the configured mirror).
  cp "$SOURCES" "$ROOTFS/etc/apt/sources.list.d/debian.sources"
  rm -f "$ROOTFS/etc/apt/sources.list"
  cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
  chmod 0755 "$ROOTFS/usr/sbin/policy-rc.d"
  mount -t proc proc "$ROOTFS/proc"
  chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
    DEBIAN_FRONTEND=noninteractive sh -ec '
      apt-get update -q
      apt-get dist-upgrade -y -q
      apt-get install -y -q --no-install-recommends "$@"
      apt-get clean
      rm -rf /var/lib/apt/lists/*' sh "${packages[@]}" >"$WORK/apt.log" 2>&1 ||
    { tail -n 40 "$WORK/apt.log" >&2; die "chroot apt-get failed (log above)"; }
  umount "$ROOTFS/proc"
  rm -f "$ROOTFS/usr/sbin/policy-rc.d"
  done_step "chroot apt install"
}

configure_rootfs() {
  step "configuring the image (user $BUILD_USER, host keys, machine-id)"
  cp -a "$IMAGE_DIR/files/." "$ROOTFS/"
  chroot "$ROOTFS" systemctl enable storeops-ssh-hostkeys.service >/dev/null 2>&1
  # Nothing on a lab host reaches out by itself: ClamAV's update daemon (it would look up
  # database.clamav.net at every boot) and apt's daily timers stay off; the workstation
  # deploy turns on what a workstation needs (its own freshclam timer, apt's timers).
  chroot "$ROOTFS" systemctl disable clamav-freshclam.service apt-daily.timer \
    apt-daily-upgrade.timer >/dev/null 2>&1
  # Each container must get its own SSH host keys (generated at its first boot).
  rm -f "$ROOTFS"/etc/ssh/ssh_host_*
  # The Ansible remote user: key-only login, NOPASSWD sudo.
  chroot "$ROOTFS" useradd --create-home --home-dir "/home/$BUILD_USER" \
    --shell /bin/bash "$BUILD_USER"
  install -d -m 0700 "$ROOTFS/home/$BUILD_USER/.ssh"
  chroot "$ROOTFS" chown "$BUILD_USER:$BUILD_USER" "/home/$BUILD_USER/.ssh"
  printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$BUILD_USER" >"$ROOTFS/etc/sudoers.d/$BUILD_USER"
  chmod 0440 "$ROOTFS/etc/sudoers.d/$BUILD_USER"
  chroot "$ROOTFS" visudo -cf "/etc/sudoers.d/$BUILD_USER" >/dev/null ||
    die "the sudoers drop-in does not validate"
  # systemd generates a fresh machine-id at each container's boot.
  : >"$ROOTFS/etc/machine-id"
  rm -f "$ROOTFS/var/lib/dbus/machine-id"
  echo storeops-lab >"$ROOTFS/etc/hostname"
  rm -f "$ROOTFS/etc/resolv.conf"   # podman provides it
  done_step "configure"
}

import_image() {
  local ref=$1 hash=$2
  step "podman import as $ref"
  tar -C "$ROOTFS" --numeric-owner --xattrs --xattrs-include='security.capability' -c . |
    podman import --quiet \
      --change 'CMD=["/sbin/init"]' \
      --change 'STOPSIGNAL=SIGRTMIN+3' \
      --change "LABEL=storeops.image=lab" \
      --change "LABEL=storeops.image.hash=$hash" \
      --message "storeops lab base image $hash" \
      - "$ref" >/dev/null
  podman tag "$ref" "$REPOSITORY:latest"
  done_step "podman import"
}

main() {
  local force=0 hash ref mirror total_start
  case "${1:-}" in
    --print-ref) echo "$REPOSITORY:$(input_hash)"; return ;;
    --force) force=1 ;;
    "") ;;
    *) die "usage: $0 [--force|--print-ref]" ;;
  esac
  [[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot)"
  hash=$(input_hash)
  ref="$REPOSITORY:$hash"
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/image-build.lock"
  flock 9   # one build at a time; a waiting build then finds the image ready
  if ((force == 0)) && podman image exists "$ref"; then
    podman tag "$ref" "$REPOSITORY:latest"
    log "$ref is up to date (cached)"
    return
  fi
  total_start=$(date +%s.%N)
  mirror=$(mirror_from_sources)
  [[ -n $mirror ]] || die "no '$SUITE' deb source in $SOURCES"
  WORK=$(mktemp -d /var/tmp/storeops-image.XXXXXX)
  ROOTFS="$WORK/rootfs"
  mkdir "$ROOTFS"
  trap cleanup EXIT
  base_rootfs "$mirror"
  install_packages
  configure_rootfs
  import_image "$ref" "$hash"
  STEP_START=$total_start
  done_step "total"
  log "built $ref (also $REPOSITORY:latest); timings:"
  printf '  %s\n' "${TIMINGS[@]}"
}

main "$@"
