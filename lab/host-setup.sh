#!/usr/bin/env bash
# Prepare a Debian 12 machine (run as root) to host the storeops lab.
#
#   1. installs the host packages the lab needs (apt is skipped when all are installed);
#   2. makes /etc/containers/containers.conf hold the settings podman needs on our
#      machines (runc, lowered ulimits, cgroupfs, file events: see shared/lab-notes.md §1).
#      An existing file is never clobbered: missing keys are merged in (backup kept),
#      conflicting values stop the script with an explanation.
#
# Idempotent: a second run changes nothing. Prints a one-line summary at the end.
set -euo pipefail

CONF=${STOREOPS_CONTAINERS_CONF:-/etc/containers/containers.conf}  # override: tests only
BACKUP="$CONF.storeops-backup"

# Host side of the lab. With --no-install-recommends, podman's network stack must be
# named (netavark + aardvark-dns), and debootstrap's keyring and gpgv too.
PACKAGES=(
  podman runc conmon netavark aardvark-dns fuse-overlayfs slirp4netns uidmap
  debootstrap debian-archive-keyring gpgv wget
  nftables iptables iproute2 iputils-ping curl openssh-client git ca-certificates python3 python3-venv
  shellcheck make
  chromium fonts-wqy-zenhei poppler-utils  # storeops report: its browser test, Chinese text, pdftotext
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0  # weasyprint (the report's PDF)
  reprepro gnupg  # the lab apt repository (lab/aptrepo/build.py): built and signed here
  chrony  # the lab's NTP server on each store gateway (storeops_lab.ntp: chronyd -x, never the clock)
)

die() { echo "host-setup: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root"

missing_packages() {
  local pkg status
  for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || echo "$pkg"
  done
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    PKG_SUMMARY="packages ok (${#PACKAGES[@]} already installed)"
    return
  fi
  echo "host-setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  PKG_SUMMARY="installed ${#missing[@]} package(s): ${missing[*]}"
}

# Writes, checks or merges containers.conf. Prints one line for the summary.
# Exit status 3 means "conflicting values": the file was left untouched.
configure_podman() {
  mkdir -p "$(dirname "$CONF")"
  /usr/bin/python3 - "$CONF" "$BACKUP" <<'PY'
import os
import shutil
import sys
import tomllib

conf, backup = sys.argv[1], sys.argv[2]
ULIMITS = '["nofile=20000:20000", "nproc=32768:32768"]'
# table -> key -> TOML literal of the value podman needs here
NEEDED = {
    "containers": {"default_ulimits": ULIMITS},
    "engine": {"runtime": '"runc"', "cgroup_manager": '"cgroupfs"', "events_logger": '"file"'},
}
HEADER = "# Written by storeops lab/host-setup.sh: podman on our machines needs runc and\n" \
         "# ulimits below the hard limits (no CAP_SYS_RESOURCE). See shared/lab-notes.md.\n"


def render_new() -> str:
    parts = [HEADER]
    for table, keys in NEEDED.items():
        parts.append(f"[{table}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()))
    return "\n".join(parts)


def problems_and_missing(data: dict) -> tuple[list[str], dict[str, dict[str, str]]]:
    problems, missing = [], {}
    for table, keys in NEEDED.items():
        section = data.get(table, {})
        for key, literal in keys.items():
            wanted = tomllib.loads(f"v = {literal}")["v"]
            if key not in section:
                missing.setdefault(table, {})[key] = literal
            elif key == "default_ulimits":
                names = {str(item).split("=", 1)[0] for item in section[key]}
                if not {"nofile", "nproc"} <= names:
                    problems.append(f"[{table}] {key} = {section[key]!r} lacks nofile/nproc "
                                    f"(need {literal})")
            elif section[key] != wanted:
                problems.append(f"[{table}] {key} = {section[key]!r} (need {literal})")
    return problems, missing


def merged(text: str, missing: dict[str, dict[str, str]]) -> str:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    for table, keys in missing.items():
        new = [f"{k} = {v}  # added by storeops host-setup\n" for k, v in keys.items()]
        headers = [i for i, ln in enumerate(lines)
                   if ln.split("#", 1)[0].strip() == f"[{table}]"]
        if headers:
            at = headers[0] + 1
            lines[at:at] = new
        else:
            lines += ["\n", f"[{table}]\n", *new]
    return "".join(lines)


def write_atomically(path: str, text: str) -> None:
    tmp = path + ".storeops-tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


if not os.path.exists(conf):
    write_atomically(conf, render_new())
    print(f"{conf} written")
    sys.exit(0)

with open(conf) as handle:
    original = handle.read()
try:
    data = tomllib.loads(original)
except tomllib.TOMLDecodeError as error:
    print(f"host-setup: {conf} is not valid TOML ({error}); fix it by hand", file=sys.stderr)
    sys.exit(3)

problems, missing = problems_and_missing(data)
if problems:
    print(f"host-setup: {conf} has values podman cannot run the lab with:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    print("  change them by hand (see shared/lab-notes.md §1); the file was left untouched",
          file=sys.stderr)
    sys.exit(3)
if not missing:
    print(f"{conf} unchanged (already configured)")
    sys.exit(0)

text = merged(original, missing)
check_problems, still_missing = problems_and_missing(tomllib.loads(text))
if check_problems or still_missing:
    print(f"host-setup: could not merge into {conf} safely; add by hand: {missing}",
          file=sys.stderr)
    sys.exit(3)
shutil.copy2(conf, backup)
write_atomically(conf, text)
added = ", ".join(f"[{t}] {k}" for t, keys in missing.items() for k in keys)
print(f"host-setup: merged into {conf}: {added} (backup: {backup})", file=sys.stderr)
print(f"{conf} merged ({added}; backup {backup})")
PY
}

check_podman() {
  local info
  if ! info=$(podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.NetworkBackend}}' 2>&1); then
    die "podman info failed: $info"
  fi
  [[ $info == "runc netavark" ]] || echo "host-setup: warning: podman uses '$info', the lab expects 'runc netavark'" >&2
  PODMAN_SUMMARY="podman: $info"
}

main() {
  local start=$SECONDS conf_summary
  install_packages
  conf_summary=$(configure_podman)
  check_podman
  echo "host-setup: $PKG_SUMMARY; $conf_summary; $PODMAN_SUMMARY ($((SECONDS - start)) s)"
}

main "$@"
