"""Reading inventory YAML the way Ansible does, but keeping track of what is vaulted.

Two kinds of vaulted data exist in an Ansible inventory:

* a whole file encrypted with ``ansible-vault encrypt`` (``$ANSIBLE_VAULT;...`` header);
* a single value encrypted with ``ansible-vault encrypt_string`` (a ``!vault`` tag).

The validator must know which values are vaulted (a plaintext secret is an error) and must
be able to read the names inside an encrypted file (a missing secret is an error). Inline
``!vault`` values are never decrypted here: knowing that they exist is enough.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

VAULT_HEADER = "$ANSIBLE_VAULT;"


def is_vault_envelope(raw: bytes) -> bool:
    """Whether ``raw`` (a file's bytes, or its first ones) is a whole-file vault envelope."""
    return raw.lstrip().startswith(VAULT_HEADER.encode())


# Deeper than any inventory variable needs, far below Python's recursion limit; and a bound on
# the values one file may expand to (YAML aliases can make a few lines mean billions).
MAX_DEPTH = 20
MAX_NODES = 100_000


class VaultedValue(str):
    """A value that is encrypted in the inventory (its text is never shown).

    ``ciphertext`` is the ``$ANSIBLE_VAULT;...`` envelope of an inline ``!vault`` value
    (empty for the values of a file encrypted as a whole): enough to ask which password
    opens it, never decrypted to be read.
    """

    ciphertext: str = ""

    def __repr__(self) -> str:
        return "<vaulted>"


def vaulted(ciphertext: str = "") -> VaultedValue:
    value = VaultedValue("<vaulted>")
    value.ciphertext = ciphertext
    return value


class YamlProblem(Exception):
    """A file that cannot be read as Ansible YAML (syntax, duplicate key, vault)."""


class _InventoryLoader(yaml.SafeLoader):
    """SafeLoader plus Ansible's tags, refusing duplicate keys (PyYAML keeps the last)."""


def _construct_vault(loader: _InventoryLoader, node: yaml.Node) -> VaultedValue:
    text = node.value if isinstance(node, yaml.ScalarNode) else ""
    return vaulted(text if isinstance(text, str) else "")


def _construct_unsafe(loader: _InventoryLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    return None


def _construct_mapping_no_duplicates(
    loader: _InventoryLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            line = key_node.start_mark.line + 1
            raise YamlProblem(
                f"a list or mapping used as a key at line {line}: keys must be names"
            ) from None
        if key in seen:
            line = key_node.start_mark.line + 1
            raise YamlProblem(f"duplicate key {key!r} at line {line}")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


def _construct_timestamp_or_text(loader: _InventoryLoader, node: yaml.Node) -> Any:
    """A date-looking scalar that is no real date (2026-11-31) stays text for the schema to name."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)  # type: ignore[arg-type]
    except ValueError:
        return loader.construct_scalar(node)  # type: ignore[arg-type]


# libyaml's parser (PyYAML's C extension) with the same constructors: a store group's files
# parse several times faster (the pure-Python scanner dominated `storeops validate` at 500
# stores). A document it refuses is parsed again by _InventoryLoader, whose messages (line,
# column, problem) are the ones the validator reports; without libyaml it is the only one.
_FastInventoryLoader: Any = _InventoryLoader
if getattr(yaml, "__with_libyaml__", False):

    class _CInventoryLoader(yaml.CSafeLoader):
        """CSafeLoader plus Ansible's tags, refusing duplicate keys (as _InventoryLoader)."""

    _FastInventoryLoader = _CInventoryLoader

for _loader in (_InventoryLoader, _FastInventoryLoader):
    _loader.add_constructor("!vault", _construct_vault)
    _loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_or_text)
    _loader.add_constructor("!unsafe", _construct_unsafe)
    _loader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
        _construct_mapping_no_duplicates,
    )


@dataclass(frozen=True)
class VaultPasswords:
    """The vault secrets available to this run (may be none)."""

    files: tuple[Path, ...] = ()
    _secrets: list[tuple[str, Any]] = field(default_factory=list, compare=False)

    @classmethod
    def from_files(cls, files: Sequence[Path], vault_id: str = "default") -> VaultPasswords:
        from ansible.parsing.dataloader import DataLoader
        from ansible.parsing.vault import get_file_vault_secret

        secrets: list[tuple[str, Any]] = []
        for path in files:
            secret = get_file_vault_secret(filename=str(path), loader=DataLoader())
            secret.load()
            secrets.append((vault_id, secret))
        return cls(tuple(files), secrets)

    @classmethod
    def from_ansible_config(cls, explicit: Sequence[Path] = ()) -> VaultPasswords:
        """The password files given explicitly, else the one Ansible's config names.

        The configured file carries the configured vault ID (ansible.cfg: ``vault_identity``,
        ``lab`` in this repository), as Ansible's own command line gives it.
        """
        if explicit:
            return cls.from_files(explicit)
        from ansible import constants

        configured = os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE") or getattr(
            constants, "DEFAULT_VAULT_PASSWORD_FILE", None
        )
        files = [Path(configured)] if configured and Path(configured).is_file() else []
        vault_id = str(getattr(constants, "DEFAULT_VAULT_IDENTITY", None) or "default")
        return cls.from_files(files, vault_id)

    def opens(self, ciphertext: str | bytes) -> bool:
        """Whether one of these passwords decrypts ``ciphertext`` (a vault envelope)."""
        if not self._secrets:
            return False
        from ansible.errors import AnsibleError
        from ansible.parsing.vault import VaultLib

        data = ciphertext.encode() if isinstance(ciphertext, str) else ciphertext
        try:
            VaultLib(self._secrets).decrypt(data)
        except (AnsibleError, ValueError, TypeError):
            return False
        return True

    @property
    def secrets(self) -> list[tuple[str, Any]]:
        """The secrets as Ansible's DataLoader and VaultLib take them."""
        return list(self._secrets)

    def decrypt(self, data: bytes, path: Path) -> str:
        if not self._secrets:
            raise YamlProblem(
                "file is vault-encrypted and no vault password was given "
                "(--vault-password-file, ANSIBLE_VAULT_PASSWORD_FILE or ansible.cfg)"
            )
        from ansible.errors import AnsibleError
        from ansible.parsing.vault import VaultLib

        try:
            plaintext: bytes = VaultLib(self._secrets).decrypt(data)
        except AnsibleError as exc:
            raise YamlProblem(f"cannot decrypt with the given vault password: {exc}") from None
        except (ValueError, TypeError) as exc:  # a damaged envelope (bad hex, bad header)
            raise YamlProblem(f"damaged vault file, cannot decrypt: {exc}") from None
        return _text(plaintext, "decrypted content ")


@dataclass(frozen=True)
class YamlFile:
    """One parsed YAML file of the inventory."""

    path: Path
    data: Any
    encrypted: bool
    ciphertext: str = ""  # the whole file's vault envelope, when it is encrypted


def _text(raw: bytes, what: str = "") -> str:
    """The file's bytes as text, or a problem that says what is wrong with them."""
    if b"\0" in raw:
        raise YamlProblem(f"{what}is a binary file, not YAML text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlProblem(
            f"{what}is not UTF-8 (byte {exc.start}: saved by a Windows editor in GBK or "
            "another local encoding?): re-save it as UTF-8"
        ) from None


def _check_size(value: Any) -> None:
    """Refuse data nested deeper than MAX_DEPTH or larger than MAX_NODES (aliases counted)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise YamlProblem(f"too large: more than {MAX_NODES} values (YAML aliases?)")
        if depth > MAX_DEPTH:
            raise YamlProblem(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _parse(text: str) -> Any:
    """The document's data, or a YamlProblem saying where and why it cannot be read."""
    if _FastInventoryLoader is not _InventoryLoader:
        try:
            data = yaml.load(text, Loader=_FastInventoryLoader)
        except (yaml.YAMLError, YamlProblem, RecursionError):
            pass  # the pure-Python loader below says what is wrong, as it always has
        else:
            _check_size(data)
            return data
    return _parse_reporting(text)


def _parse_reporting(text: str) -> Any:
    try:
        data = yaml.load(text, Loader=_InventoryLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise YamlProblem(f"YAML syntax error{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"YAML error: {exc}") from None
    except RecursionError:
        raise YamlProblem(f"nested more than {MAX_DEPTH} levels deep") from None
    _check_size(data)
    return data


def map_strings(value: Any, convert: Callable[[str], Any]) -> Any:
    """``value`` with every string in it (at any depth of dicts and lists) converted."""
    if isinstance(value, dict):
        return {key: map_strings(item, convert) for key, item in value.items()}
    if isinstance(value, list):
        return [map_strings(item, convert) for item in value]
    if isinstance(value, str):
        return convert(value)
    return value


def _mark_vaulted(value: Any) -> Any:
    return map_strings(value, VaultedValue)


def read_yaml(path: Path, passwords: VaultPasswords) -> YamlFile:
    """Parse one file; decrypt it first if the whole file is vaulted.

    Every way a file can be unreadable (permissions, encoding, binary content, syntax,
    nesting, decryption) is a :class:`YamlProblem` whose message names the cause.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlProblem(f"cannot read: {exc.strerror or exc}") from None
    encrypted = is_vault_envelope(raw)
    if encrypted:
        data = _parse(passwords.decrypt(raw, path))
        return YamlFile(path, _mark_vaulted(data), True, raw.decode("ascii", "replace"))
    return YamlFile(path, _parse(_text(raw)), False)


def vaulted_values(value: Any, prefix: str = "") -> Iterator[tuple[str, VaultedValue]]:
    """(field, value) for every inline ``!vault`` value in ``value``, at any depth."""
    if isinstance(value, VaultedValue) and value.ciphertext:
        yield prefix, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from vaulted_values(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from vaulted_values(item, f"{prefix}[{index}]")


def is_vaulted(value: Any) -> bool:
    return isinstance(value, VaultedValue)


class _IndentedDumper(yaml.SafeDumper):
    """SafeDumper that indents lists under their key, as yamllint's default rules want."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def dump_yaml(data: Any) -> str:
    """A document as the repository writes YAML: ``---`` first, keys sorted, lists indented."""
    text: str = yaml.dump(
        data,
        Dumper=_IndentedDumper,
        sort_keys=True,
        default_flow_style=False,
        explicit_start=True,
        allow_unicode=True,
    )
    return text


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace ``path`` with ``text`` in one rename(2): readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
