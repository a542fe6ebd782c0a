#!/usr/bin/python
"""The one database dump procedure of storeops, as a module: dump, prove it restores, restore.

Used by the DMS rollout (the pre-upgrade dump and, if a down migration fails, the
restore). How a database is dumped, measured and loaded is written once, in
``module_utils/storeops_mariadb.py``, which the backup role's nightly job uses too. Runs on
the database host with the MariaDB client tools, as root over the unix socket.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mariadb_dump
short_description: Dump a MariaDB database consistently, prove the dump restores, restore it
description:
  - C(state=dumped) writes C(mariadb-dump --single-transaction) of I(database) (one
    consistent snapshot, no table locks on InnoDB tables, so the application keeps running)
    gzip-compressed to I(path), atomically (a partial dump never has the final name), mode
    0600, and a manifest I(path).json next to it (sha256, size, time, per-table row count and
    C(CHECKSUM TABLE) value).
  - With I(verify) (the default), the dump is restored into the scratch database
    I(scratch_database) on the same server and every table's row count and checksum are
    compared with the live database; the scratch database is dropped afterwards whatever
    happens. The manifest records C(verified=true) only if every table matched. A
    difference fails the task and names the tables. Compare on a quiet database (a
    maintenance window), because rows written between the dump and the comparison show up as a
    difference, and the dump is then not trusted.
  - A dump that is already there, whose sha256 is the manifest's and which is verified,
    is not taken again (C(changed=false)), so a re-run after an interruption reuses it.
  - The dump's directory holds only this module's dumps (clear-text customer data), so it is
    kept at mode 0700, every file in it at 0600. No partial file survives a failure;
    the dump is written to I(path).<pid>.part, which is removed on every failure path (a
    full disk, a failed C(mariadb-dump), a failed verification, an interruption), and a
    C(.part) file left by a killed process (its PID gone) is removed before the next dump.
    A dump that fails its verification is removed too (it is not trusted).
  - With I(keep) > 0, after the dump (taken or reused) only the newest I(keep) dumps
    (C(*.sql.gz), by modification time) and their manifests stay in the directory;
    I(path) itself always stays.
  - C(state=restored) loads a verified dump back into I(database) (tables the dump does not
    have are dropped first, so later migrations' tables go too), then checks every table
    against the manifest. When the database already matches the manifest nothing is done.
author:
  - storeops developers
version_added: "0.1.0"
options:
  database:
    description: The database to dump or restore into.
    type: str
    required: true
  path:
    description: The dump file (gzip-compressed SQL); its manifest is I(path).json.
    type: path
    required: true
  state:
    description: C(dumped) takes (and verifies) a dump; C(restored) loads it into I(database).
    type: str
    choices: [dumped, restored]
    default: dumped
  verify:
    description: Restore the new dump into I(scratch_database) and compare it with the live database.
    type: bool
    default: true
  scratch_database:
    description: The database the verification restores into (dropped and recreated). Defaults to I(database)_verify.
    type: str
    required: false
  force:
    description: Take a new dump even if a verified one is already at I(path).
    type: bool
    default: false
  keep:
    description:
      - How many dumps (C(*.sql.gz) in the directory of I(path), newest first) to keep after
        a dump; older ones and their manifests are removed. C(0) keeps every dump.
      - Used with C(state=dumped) only.
    type: int
    default: 0
  login_unix_socket:
    description: The server's unix socket (root logs in through it with unix_socket authentication).
    type: path
    default: /run/mysqld/mysqld.sock
attributes:
  check_mode:
    support: full
    description: Reports whether a dump would be taken or a restore done; writes nothing.
  diff_mode:
    support: full
    description: For C(restored), the per-table rows and checksums before and after.
"""

EXAMPLES = r"""
- name: Take a verified dump of the DMS database before the upgrade
  mariadb_dump:
    database: storedms
    path: /var/backups/storedms/pre-upgrade-3.1.0-3.2.0.sql.gz
  register: dump

- name: Put the data back from that dump
  mariadb_dump:
    database: storedms
    path: /var/backups/storedms/pre-upgrade-3.1.0-3.2.0.sql.gz
    state: restored
"""

RETURN = r"""
path:
  description: The dump file.
  returned: always
  type: str
sha256:
  description: The dump file's sha256.
  returned: when a dump exists
  type: str
bytes:
  description: The dump file's size.
  returned: when a dump exists
  type: int
created:
  description: When the dump was taken (UTC, ISO 8601).
  returned: when a dump exists
  type: str
verified:
  description: Whether the dump was restored into the scratch database and matched table by table.
  returned: when a dump exists
  type: bool
removed:
  description: Older dumps and manifests removed by I(keep), and stale C(.part) files removed.
  returned: with state=dumped
  type: list
  elements: str
tables:
  description: Per table, its row count and CHECKSUM TABLE value at dump time.
  returned: when a dump exists
  type: dict
  sample: {"customers": {"rows": 40, "checksum": 1820346431}}
"""

import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.storeops_mariadb import (  # noqa: E402
    DUMP_OPTIONS,
    DumpError,
    Server,
    differences,
    sha256_of,
    write_private,
)


def read_manifest(path: str) -> dict[str, Any] | None:
    """The manifest of the dump at ``path`` if both exist and the dump is the one described."""
    try:
        with open(f"{path}.json", encoding="utf-8") as handle:
            manifest: dict[str, Any] = json.load(handle)
    except (OSError, ValueError):
        return None
    if not os.path.isfile(path) or manifest.get("sha256") != sha256_of(path):
        return None
    return manifest


def verify_in_scratch(server: Server, path: str, live: dict[str, Any], scratch: str) -> None:
    server.query(f"DROP DATABASE IF EXISTS `{scratch}`")
    server.query(f"CREATE DATABASE `{scratch}` CHARACTER SET utf8mb4")
    try:
        server.load(path, scratch)
        found = server.table_stats(scratch)
    finally:
        server.query(f"DROP DATABASE IF EXISTS `{scratch}`")
    wrong = differences(live, found)
    if wrong:
        raise DumpError(
            f"{path} does not restore to the live data (was the database written meanwhile?): "
            + "; ".join(wrong)
        )


def _pid_alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


def remove_stale_parts(directory: str) -> list[str]:
    """Remove the ``.part`` files in ``directory`` whose writer (the PID in the name) is gone.

    A dump killed with SIGKILL (or by the OOM killer, or a reboot) cannot clean up after
    itself: what it wrote (customer data) is removed here before the next dump.
    """
    removed = []
    for partial in sorted(glob.glob(os.path.join(glob.escape(directory), "*.part"))):
        pid = partial.rsplit(".", 2)[-2]
        if pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid)):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        removed.append(partial)
    return removed


def prune_dumps(path: str, keep: int) -> list[str]:
    """Keep the newest ``keep`` dumps (``*.sql.gz``) next to ``path``; ``path`` always stays."""
    if keep < 1:
        return []
    directory = os.path.dirname(path) or "."
    dumps = [
        name
        for name in glob.glob(os.path.join(glob.escape(directory), "*.sql.gz"))
        if os.path.isfile(name)
    ]
    dumps.sort(key=lambda name: (os.path.samefile(name, path), os.path.getmtime(name)))
    removed = []
    for old in dumps[: max(len(dumps) - keep, 0)]:
        for name in (old, f"{old}.json"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
                removed.append(name)
    return removed


def private_directory(path: str) -> str:
    """The dump's directory, created if needed, 0700 and its files 0600 whatever they were."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                os.chmod(entry.path, 0o600)
    return directory


def take_dump(server: Server, params: dict[str, Any]) -> dict[str, Any]:
    """Dump, measure and (with ``verify``) prove the dump; nothing partial is ever left."""
    path, database = params["path"], params["database"]
    private_directory(path)
    partial = f"{path}.{os.getpid()}.part"
    old_umask = os.umask(0o077)
    done = False
    try:
        server.dump_to(database, partial)
        os.chmod(partial, 0o600)
        os.replace(partial, path)
        manifest: dict[str, Any] = {
            "database": database,
            "path": path,
            "sha256": sha256_of(path),
            "bytes": os.path.getsize(path),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "tool": "mariadb-dump " + " ".join(DUMP_OPTIONS),
            "tables": server.table_stats(database),
            "verified": bool(params["verify"]),
        }
        # A dump that fails its verification gets no manifest, and is removed: it is never
        # reused or restored, and clear-text customer data is not left lying around.
        if params["verify"]:
            scratch = params["scratch_database"] or f"{database}_verify"
            verify_in_scratch(server, path, manifest["tables"], scratch)
        write_private(f"{path}.json", json.dumps(manifest, indent=2, sort_keys=True))
        done = True
    finally:
        os.umask(old_umask)
        # Every failure path (a full disk, mariadb-dump failing, a failed verification,
        # an interruption): no partial or untrusted file stays.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        if not done:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    return manifest


def restore(server: Server, module: AnsibleModule, manifest: dict[str, Any]) -> dict[str, Any]:
    database, path = module.params["database"], module.params["path"]
    before = server.table_stats(database)
    diff = {
        "before": json.dumps(before, indent=2, sort_keys=True) + "\n",
        "after": json.dumps(manifest["tables"], indent=2, sort_keys=True) + "\n",
    }
    if before == manifest["tables"]:
        return {"changed": False, "diff": diff}
    if module.check_mode:
        return {"changed": True, "diff": diff}
    extra = [table for table in server.tables(database) if table not in manifest["tables"]]
    if extra:
        drops = ", ".join(f"`{table}`" for table in extra)
        server.query(f"SET FOREIGN_KEY_CHECKS = 0; DROP TABLE {drops}", database)
    server.load(path, database)
    wrong = differences(manifest["tables"], server.table_stats(database))
    if wrong:
        raise DumpError(f"{database} after restoring {path} differs: " + "; ".join(wrong))
    return {"changed": True, "diff": diff}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "database": {"type": "str", "required": True},
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["dumped", "restored"], "default": "dumped"},
            "verify": {"type": "bool", "default": True},
            "scratch_database": {"type": "str", "required": False},
            "force": {"type": "bool", "default": False},
            "keep": {"type": "int", "default": 0},
            "login_unix_socket": {"type": "path", "default": "/run/mysqld/mysqld.sock"},
        },
        supports_check_mode=True,
    )
    params = module.params
    server = Server(params["login_unix_socket"])
    manifest = read_manifest(params["path"])
    try:
        if params["state"] == "restored":
            if manifest is None or not manifest.get("verified"):
                module.fail_json(
                    msg=f"{params['path']}: no verified dump with a matching manifest: "
                    "refusing to restore from it",
                    path=params["path"],
                )
                return  # fail_json exits; for the type checker (ansible is untyped)
            outcome = restore(server, module, manifest)
            module.exit_json(**{**manifest, **outcome})
        verified = manifest is not None and (manifest.get("verified") or not params["verify"])
        kept = manifest if verified else None  # a dump that may be reused
        if module.check_mode:
            if kept is not None and not params["force"]:
                module.exit_json(changed=False, **kept)
            module.exit_json(changed=True, path=params["path"], msg="a dump would be taken")
        removed = remove_stale_parts(private_directory(params["path"]))
        changed = bool(removed)
        if kept is None or params["force"]:
            kept = take_dump(server, params)
            changed = True
        removed += prune_dumps(params["path"], params["keep"])
        module.exit_json(changed=changed or bool(removed), removed=removed, **kept)
    except (DumpError, OSError) as error:
        module.fail_json(msg=str(error), path=params["path"])


if __name__ == "__main__":
    main()
