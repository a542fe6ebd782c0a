"""What the emulated platforms share: configuration views, line filing, sessions.

A platform (:class:`Platform`) is mostly data: the section lines that open a view
(``interface X`` -> ``(config-if)#`` / ``[sw-Vlanif10]``), the words each view accepts, the
single-instance commands a new value replaces (``hostname``, ``description``, ``ip address``),
and the negation word (``no`` / ``undo``). From that data, :meth:`Platform.configure` files a
configuration line the way both CLIs do:

- the line is tried in the current view, then in each parent view up to the top: a command
  that does not belong to the current view (``hostname X`` typed under ``interface Vlan10``)
  runs in the first view that knows it, and the session moves there, as on the devices.
  Indentation does not matter, as on the devices;
- a section line enters (and creates) the section; a single-instance command replaces the
  previous value; any other line is added once;
- ``no X`` / ``undo X`` removes the line ``X``, or, when ``X`` is shorter, every line that
  starts with the words of ``X`` (``no description``, ``undo ntp-service unicast-server
  10.0.0.1``); removing a section removes it whole.

What is not emulated: the devices' full command grammars. A line whose first words are
unknown to the view is an error; what follows them is only checked for the commands a
platform validates itself (interfaces, access lists, VLAN numbers, secrets).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from storeops_lab.devices.cli import CliError, ExecCommand, Reply, match_command
from storeops_lab.devices.config import ConfigNode, Rank, tokens

if TYPE_CHECKING:
    from storeops_lab.devices.device import Device

ROOT = ""  # the kind of the top-level view
Ask = Callable[[str, bool], str | None]  # (question, echo the answer) -> answer, None at EOF
Typed = list[tuple[int, str]]


Vocabulary = tuple[tuple[str, ...], ...]


def vocabulary(text: str) -> Vocabulary:
    """Command prefixes a view accepts: comma-separated, each one or more whole words."""
    return tuple(tuple(prefix.split()) for prefix in text.split(",") if prefix.strip())


def key_patterns(*patterns: str) -> tuple[re.Pattern[str], ...]:
    """Single-instance command patterns: what a pattern's groups match is the identity."""
    return tuple(re.compile(pattern) for pattern in patterns)


@dataclass(frozen=True)
class Section:
    """A line that opens a configuration view.

    ``pattern`` must match the whole line (after the words are joined by single spaces);
    ``prompt`` is formatted with the pattern's groups; ``lead``, when set, is the words that
    announce this section: a line starting with them that does not match is an error.
    """

    kind: str
    pattern: re.Pattern[str]
    prompt: str
    parent: str = ROOT
    lead: tuple[str, ...] = ()


def section(kind: str, pattern: str, prompt: str, parent: str = ROOT, lead: str = "") -> Section:
    return Section(kind, re.compile(pattern, re.IGNORECASE), prompt, parent, tuple(lead.split()))


@dataclass
class Frame:
    """One open view in a configuration session: the section and its prompt text."""

    section: Section
    node: ConfigNode
    prompt: str


def order_ranker(order: str) -> Callable[[str], int]:
    """Rank a line by the longest prefix of it in ``order`` (comma-separated prefixes).

    An entry may list alternatives of the same rank (``stelnet | ssh``); the entry ``*``
    marks where lines of no listed prefix go.
    """
    entries = [entry.strip() for entry in order.split(",")]
    prefixes = [
        (index, tuple(choice.split()))
        for index, entry in enumerate(entries)
        for choice in entry.split("|")
    ]
    other = entries.index("*") if "*" in entries else len(entries)

    def rank(text: str) -> int:
        words = tuple(text.split())
        best, best_len = other, 0
        for index, prefix in prefixes:
            if len(prefix) > best_len and words[: len(prefix)] == prefix:
                best, best_len = index, len(prefix)
        return best

    return rank


class Platform(ABC):
    """A network operating system: its views, its configuration rules, its output formats.

    One instance runs one device (:meth:`attach`): the few rules that depend on the device's
    state (which physical ports exist, which ACL numbers are taken) read it from there.
    """

    name: ClassVar[str]
    netmiko_device_type: ClassVar[str]
    ssh_version: ClassVar[str]
    negation: ClassVar[str]
    default_hostname: ClassVar[str]
    saved_file_suffix: ClassVar[str]
    sections: ClassVar[tuple[Section, ...]]
    views: ClassVar[dict[str, Vocabulary | None]]  # None: whatever the top level does not know
    keys: ClassVar[dict[str, tuple[re.Pattern[str], ...]]]
    shown_negations: ClassVar[dict[str, dict[str, bool]]]  # view -> line -> printed when on
    physical_interface_types: ClassVar[tuple[str, ...]]
    interface_types: ClassVar[tuple[str, ...]]
    free_text: ClassVar[frozenset[str]] = frozenset({"description", "remark", "banner", "name"})
    # The management address of the factory configuration, and the one the controller
    # may use when the device is started without a list (see storeops_lab.devices.device).
    factory_address: ClassVar[str] = "192.0.2.2"

    def __init__(self) -> None:
        self._device: Device | None = None

    def attach(self, device: Device) -> None:
        """Bind this platform instance to the one device it runs (one instance per device)."""
        self._device = device

    @property
    def device(self) -> Device:
        assert self._device is not None, "platform not attached to a device"
        return self._device

    @property
    def tree(self) -> ConfigNode:
        """The running configuration of the attached device."""
        return self.device.tree

    @property
    def hardware(self) -> frozenset[str]:
        """The physical interfaces the attached device has."""
        return self.device.physical_interfaces

    # ---------------------------------------------------------------- platform specifics

    @abstractmethod
    def initial_config(
        self,
        hostname: str,
        username: str,
        password: str,
        enable: str | None,
        *,
        address: str = "192.0.2.2",
    ) -> str:
        """A small switch configuration for a device that has never been saved, with its
        management interface at ``address`` (a /24)."""

    @abstractmethod
    def parse(self, text: str) -> ConfigNode:
        """A saved or initial configuration file -> the configuration tree."""

    @abstractmethod
    def render(self, tree: ConfigNode) -> list[str]:
        """The configuration tree as the body of the device's configuration listing."""

    @abstractmethod
    def running_config(self, device: Device) -> str:
        """``show running-config`` / ``display current-configuration``, whole."""

    @abstractmethod
    def saved_text(self, device: Device) -> str:
        """What ``write memory`` / ``save`` stores."""

    @abstractmethod
    def open_session(self, device: Device, number: int, user: str) -> Session:
        """A new CLI session after SSH login."""

    @abstractmethod
    def hostname(self, tree: ConfigNode) -> str:
        """The hostname the configuration sets (the prompt's name)."""

    @abstractmethod
    def check_login(self, tree: ConfigNode, user: str, password: str) -> bool:
        """True when the configuration has a local user with this password."""

    @abstractmethod
    def management_path(self, tree: ConfigNode, addresses: Sequence[str]) -> bool:
        """True when the configuration still lets the controller in: one of ``addresses``
        on an up layer-3 interface, and SSH logins allowed (see the device module)."""

    @abstractmethod
    def rank(self, view: str, node: ConfigNode) -> Rank:
        """Where a new line goes among its siblings (the device's canonical order)."""

    @abstractmethod
    def format_error(self, error: CliError, prompt: str, line: str) -> str:
        """An error answer as the device prints it, caret line included."""

    def line_text(self, line: str, body: Typed) -> str:
        """The typed line from its first word on, single-spaced up to a free-text argument.

        Free text (a description, a remark) is kept as typed, inner spaces included: the
        words after a leading free-text keyword, or after ``description`` anywhere
        (``rule 5 description ...``).
        """
        free = next(
            (
                i + 1
                for i, (_, word) in enumerate(body)
                if word.lower() in self.free_text and (i == 0 or word.lower() == "description")
            ),
            None,
        )
        if free is None or free >= len(body):
            return " ".join(word for _, word in body)
        head = " ".join(word for _, word in body[:free])
        return f"{head} {line[body[free][0] :].rstrip()}"

    def normalise(self, view: str, text: str, typed: Typed) -> str:
        """The line as the device stores it (canonical names, hashed secrets). May raise."""
        return text

    def section_header(self, frame_section: Section, match: re.Match[str], typed: Typed) -> str:
        """The canonical text of a section line (``interface gi1/0/1`` -> full name)."""
        return " ".join(word for _, word in typed)

    def prompt_suffix(self, frame_section: Section, match: re.Match[str], header: str) -> str:
        return frame_section.prompt.format(*match.groups())

    def set_special(self, view: str, parent: ConfigNode, text: str, typed: Typed) -> bool:
        """Handle a line that is not a plain keyed line (access-list entries...)."""
        return False

    def negate_special(self, view: str, parent: ConfigNode, text: str, typed: Typed) -> bool:
        """Handle a negation that is not a plain removal."""
        return False

    def on_enter(self, tree: ConfigNode, frame_section: Section, header: str) -> None:  # noqa: B027
        """Side effects of entering a section (``vlan 10`` also creates VLAN 10)."""

    def exec_commands(self) -> Sequence[ExecCommand]:
        return ()

    # ---------------------------------------------------------------- the configuration engine

    def view_accepts(self, view: str, words: list[str]) -> int:
        """How many leading words the view knows: ``len(words)`` or more means accepted."""
        prefixes = self.views.get(view, ())
        if prefixes is None:
            return 0 if self.view_accepts(ROOT, words) >= len(words) else len(words)
        best = 0
        for prefix in prefixes:
            length = _common(prefix, words)
            if length == len(prefix):
                return len(words)
            best = max(best, length)
        return best

    def match_section(self, view: str, text: str) -> tuple[Section, re.Match[str]] | None:
        for candidate in self.sections:
            if candidate.parent == view and (found := candidate.pattern.fullmatch(text)):
                return candidate, found
        return None

    def check_lead(self, view: str, typed: Typed) -> None:
        """A line that starts like a section of this view but does not parse is an error."""
        words = [word.lower() for _, word in typed]
        for candidate in self.sections:
            lead = candidate.lead
            if candidate.parent != view or not lead or tuple(words[: len(lead)]) != lead:
                continue
            if len(typed) == len(lead):
                raise CliError("incomplete", typed[-1][0] + len(typed[-1][1]) + 1)
            raise CliError("invalid", typed[len(lead)][0])

    def check_argument(self, view: str, text: str, line: str) -> None:
        """A single-instance command typed without its value (``hostname``) is incomplete."""
        for pattern in self.keys.get(view, ()):
            if not pattern.match(text) and pattern.match(f"{text} x"):
                raise CliError("incomplete", len(line.rstrip()) + 1)

    def key(self, view: str, text: str) -> str | None:
        """The identity of a single-instance command: a new line with it replaces the old."""
        for pattern in self.keys.get(view, ()):
            if found := pattern.match(text):
                return "|".join(group or "" for group in found.groups()) or found.group(0)
        return None

    def set_line(self, view: str, parent: ConfigNode, text: str, typed: Typed) -> None:
        """File a (non-section) configuration line under ``parent``.

        A printed negation the line turns on (``no ip http server`` for ``ip http server``,
        ``no ip address`` for ``ip address A M``) is removed, and the line takes its place.
        """
        text = self.normalise(view, text, typed)
        if self.set_special(view, parent, text, typed) or parent.find(text):
            return
        position = self._drop_negations(parent, text.split())
        if position is not None and not self.shown_negations.get(view, {}).get(text, True):
            return
        if (key := self.key(view, text)) is not None:
            for node in parent.children:
                if self.key(view, node.text) == key:
                    node.text = text
                    return
        if position is not None:
            parent.children.insert(position, ConfigNode(text))
        else:
            parent.insert_ranked(ConfigNode(text), lambda node: self.rank(view, node))

    def _drop_negations(self, parent: ConfigNode, words: list[str]) -> int | None:
        """Remove ``no X`` lines whose ``X`` begins the new line; where the first one was."""
        position: int | None = None
        for index, node in reversed(list(enumerate(parent.children))):
            negative = node.text.split()
            if negative[0] == self.negation and words[: len(negative) - 1] == negative[1:]:
                del parent.children[index]
                position = index
        return position

    def negate(self, view: str, parent: ConfigNode, text: str, typed: Typed) -> None:
        """Remove what ``no``/``undo`` + ``text`` names."""
        if self.negate_special(view, parent, text, typed):
            return
        if (opened := self.match_section(view, text)) is not None:
            text = self.section_header(opened[0], opened[1], typed)
        target = parent.find(text)
        if target is not None:
            parent.remove(target)
        elif matches := parent.find_words(text.split()):
            if len(text.split()) < 2 and self.key(view, f"{text} x") != text:
                # "no interface", "no username": IOS and VRP want to know which one
                raise CliError("incomplete", typed[-1][0] + len(typed[-1][1]) + 1)
            for node in matches:
                parent.remove(node)
        shown = self.shown_negations.get(view, {})
        line = f"{self.negation} {text}"
        if text in shown and parent.find(line) is None:
            parent.insert_ranked(ConfigNode(line), lambda node: self.rank(view, node))

    # ---------------------------------------------------------------- interface names

    def interface_name(self, name: str, column: int) -> str:
        """``gi1/0/1`` -> ``GigabitEthernet1/0/1``: the unique type the letters abbreviate."""
        found = re.fullmatch(r"([A-Za-z][A-Za-z-]*)\s*(\d[\d/.:]*)", name)
        if not found:
            raise CliError("invalid", column)
        letters, number = found.groups()
        fits = [t for t in self.interface_types if t.lower().startswith(letters.lower())]
        exact = [t for t in fits if t.lower() == letters.lower()]
        fits = exact or fits
        if len(fits) != 1:
            raise CliError("ambiguous" if fits else "invalid", column)
        return f"{fits[0]}{number}"

    def is_physical(self, interface: str) -> bool:
        return interface.startswith(self.physical_interface_types)

    def interface_rank(self, interface: str) -> Rank:
        """Interfaces sort by type (the platform's order), then by their numbers."""
        for order, kind in sorted(enumerate(self.interface_types), key=lambda t: -len(t[1])):
            if interface.startswith(kind):
                numbers = re.findall(r"\d+", interface[len(kind) :])
                return (order, *(int(number) for number in numbers))
        return (len(self.interface_types),)


def _common(prefix: tuple[str, ...], words: list[str]) -> int:
    length = 0
    for expected, word in zip(prefix, words, strict=False):
        if expected != word.lower():
            break
        length += 1
    return length


class Session(ABC):
    """One SSH login: the view stack and the exec level, on a shared :class:`Device`."""

    exit_words: ClassVar[frozenset[str]]
    end_words: ClassVar[frozenset[str]]

    def __init__(self, device: Device, number: int, user: str) -> None:
        self.device = device
        self.platform = device.platform
        self.number = number
        self.user = user
        self.frames: list[Frame] | None = None  # None: not in configuration mode
        self.ask: Ask = _no_answer  # how a command asks a question (the shell's, while running)

    @property
    @abstractmethod
    def prompt(self) -> str:
        """The prompt for the next command."""

    @abstractmethod
    def run(self, line: str) -> Reply:
        """Execute one typed line (questions go through :attr:`ask`); may raise CliError."""

    def banner(self) -> str:
        """Printed once after login, before the first prompt."""
        return ""

    @property
    def configuring(self) -> bool:
        return self.frames is not None

    def reset_views(self) -> None:
        """The configuration was replaced under this session: back to the top view."""
        if self.frames is not None:
            self.frames = []

    def execute(self, line: str, ask: Ask) -> Reply:
        """Run a typed line under the device lock, log it, and format any error."""
        with self.device.lock:
            self.device.activity()
            self.ask = ask
            before_prompt, before_config = self.prompt, self.configuring
            try:
                reply = self.run(line)
            except CliError as error:
                reply = Reply(self.platform.format_error(error, before_prompt, line))
            if line.strip():
                config = before_config or self.configuring
                self.device.record(self.number, before_prompt, line, config=config)
            return reply

    def run_exec(self, line: str, commands: Sequence[ExecCommand], level: int) -> Reply:
        """Match an exec command (abbreviations allowed) and run its handler."""
        typed = tokens(line)
        allowed = [c for c in commands if c.level <= level]
        chosen, args = match_command(allowed, typed)
        try:
            return chosen.handler(self, args)
        except CliError as error:
            if error.word is not None:
                rest = typed[len(typed) - len(args) :]
                end = len(line.rstrip()) + 1
                error.column = rest[error.word][0] if error.word < len(rest) else end
                error.word = None
            raise

    # ---------------------------------------------------------------- configuration mode

    def enter_config(self) -> None:
        self.frames = []

    def leave_config(self) -> None:
        self.frames = None

    def current_view(self) -> str:
        return self.frames[-1].section.kind if self.frames else ROOT

    def configure(self, line: str) -> Reply:
        """File one configuration line (the caller has checked the mode)."""
        assert self.frames is not None
        typed = tokens(line)
        first = typed[0][1].lower()
        if first in self.exit_words:
            return self.exit_view(typed)
        if first in self.end_words:
            self.leave_config()
            return Reply()
        negated = first == self.platform.negation
        body = typed[1:] if negated else typed
        if not body:
            raise CliError("incomplete", len(line.rstrip()) + 1)
        views = self.frames
        self.frames = views[: self._view_depth(body)]
        try:
            self._file(line, body, negated=negated)
        except CliError:
            self.frames = views  # a rejected line leaves the session where it was
            raise
        self.device.touch(self.user)
        return Reply()

    def _file(self, line: str, body: Typed, *, negated: bool) -> None:
        """File the line in the current view (the one :meth:`_view_depth` chose)."""
        assert self.frames is not None
        view = self.current_view()
        parent = self.frames[-1].node if self.frames else self.device.tree
        text = self.platform.line_text(line, body)
        opened = self.platform.match_section(view, text)
        if negated:
            if opened is None:
                self.platform.check_lead(view, body)
            self.platform.negate(view, parent, text, body)
        elif opened is not None:
            self._enter_section(opened[0], opened[1], parent, body)
        else:
            self.platform.check_lead(view, body)
            self.platform.check_argument(view, text, line)
            self.platform.set_line(view, parent, text, body)

    def _view_depth(self, body: Typed) -> int:
        """The innermost open view that knows the command (0: the top level), or an error."""
        assert self.frames is not None
        words = [word for _, word in body]
        best = 0
        for depth in range(len(self.frames), -1, -1):
            view = self.frames[depth - 1].section.kind if depth else ROOT
            known = self.platform.view_accepts(view, words)
            if known >= len(words):
                return depth
            best = max(best, known)
        raise CliError("invalid", body[min(best, len(body) - 1)][0])

    def _enter_section(
        self, opened: Section, match: re.Match[str], parent: ConfigNode, body: Typed
    ) -> None:
        assert self.frames is not None
        header = self.platform.section_header(opened, match, body)
        node = parent.find(header)
        if node is None:
            node = ConfigNode(header)
            view = opened.parent
            parent.insert_ranked(node, lambda n: self.platform.rank(view, n))
        self.platform.on_enter(self.device.tree, opened, header)
        self.frames.append(Frame(opened, node, self.platform.prompt_suffix(opened, match, header)))

    def exit_view(self, typed: Typed) -> Reply:
        """``exit`` / ``quit``: one view up; from the top view, out of configuration mode."""
        assert self.frames is not None
        if len(typed) > 1:
            raise CliError("invalid", typed[1][0])
        if self.frames:
            self.frames.pop()
        else:
            self.leave_config()
        return Reply()


def _no_answer(question: str, echo: bool) -> str | None:
    return None


def clock_now() -> datetime:
    return datetime.now(UTC)
