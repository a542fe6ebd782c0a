"""A device configuration kept in memory as an ordered tree of text lines.

Both emulated platforms print their configuration the same way: top-level lines, and under a
section line (``interface Vlan10``, ``ip access-list extended X``, ``acl name X 3040``) its
children indented by one space per level. :class:`ConfigNode` holds exactly that: a line of
text and its children, in display order. Nothing here knows a platform; the platform modules
decide where a line goes, what it replaces and how the tree is printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

_WORD = re.compile(r"\S+")

# Where a line sorts among its siblings: a group number, then numbers within the group.
Rank = tuple[int, ...]


def words(text: str) -> list[str]:
    """The whitespace-separated words of a line."""
    return text.split()


def starts_with_words(text: str, prefix: list[str]) -> bool:
    """True when the line's words begin with ``prefix`` (whole words, not characters)."""
    line_words = words(text)
    return len(line_words) >= len(prefix) and line_words[: len(prefix)] == prefix


def tokens(line: str) -> list[tuple[int, str]]:
    """The words of a line with their column: what an error caret points at."""
    return [(match.start(), match.group()) for match in _WORD.finditer(line)]


@dataclass(eq=False)
class ConfigNode:
    """One configuration line and the lines indented under it.

    ``seq`` is a hidden attribute some lines carry without printing it in the running
    configuration: the sequence number of a Cisco IOS access-list entry.
    """

    text: str
    children: list[ConfigNode] = field(default_factory=list)
    seq: int | None = None

    def find(self, text: str) -> ConfigNode | None:
        """The child whose text is exactly ``text``."""
        return next((child for child in self.children if child.text == text), None)

    def find_words(self, prefix: list[str]) -> list[ConfigNode]:
        """The children whose words begin with ``prefix``."""
        return [child for child in self.children if starts_with_words(child.text, prefix)]

    def find_first(self, predicate: Callable[[ConfigNode], bool]) -> ConfigNode | None:
        return next((child for child in self.children if predicate(child)), None)

    def remove(self, node: ConfigNode) -> None:
        self.children = [child for child in self.children if child is not node]

    def insert_ranked(self, node: ConfigNode, rank: Callable[[ConfigNode], Rank]) -> None:
        """Insert ``node`` after the last child whose rank is not greater than its own.

        Real devices print their configuration in a canonical order, whatever order it was
        typed in; ranking keeps that order and keeps lines of equal rank in entry order.
        """
        own = rank(node)
        index = len(self.children)
        while index > 0 and rank(self.children[index - 1]) > own:
            index -= 1
        self.children.insert(index, node)

    def lines(self, depth: int = 0, indent: str = " ") -> Iterator[str]:
        """This node and its descendants as indented text lines."""
        yield indent * depth + self.text
        for child in self.children:
            yield from child.lines(depth + 1, indent)

    def copy(self) -> ConfigNode:
        return ConfigNode(self.text, [child.copy() for child in self.children], self.seq)


def parse_indented(lines: Iterable[str]) -> ConfigNode:
    """Build a tree from indented text: a line is a child of the last less-indented line.

    Blank lines are skipped; comment and separator lines must be filtered out by the caller.
    Returns a root node with empty text whose children are the top-level lines.
    """
    root = ConfigNode("")
    stack: list[tuple[int, ConfigNode]] = [(-1, root)]
    for raw in lines:
        text = raw.rstrip()
        if not text.strip():
            continue
        indent = len(text) - len(text.lstrip(" "))
        while stack[-1][0] >= indent:
            stack.pop()
        node = ConfigNode(text.strip())
        stack[-1][1].children.append(node)
        stack.append((indent, node))
    return root
