"""A safe YAML loader with limits, for files a user (or an attacker) hands the tool.

`load_yaml` reads like ``yaml.safe_load`` with three differences:

- nesting deeper than `MAX_DEPTH` is refused (no ``RecursionError``);
- a document whose aliases (``*name``) would expand to more than `MAX_EXPANDED_NODES` nodes is
  refused (no "billion laughs": a few hundred bytes cannot become gigabytes);
- ``18:30`` stays the text ``"18:30"``: YAML 1.1 reads unquoted ``H:MM`` as a base-60 integer
  (1110), but in a scenario it is always a time of day;
- an impossible date (``2026-02-30``) is a refusal at its position, not a ``ValueError``.

A refusal raises ``yaml.YAMLError`` with the position (``problem_mark``) of the node that hit
the limit, like a syntax error.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 50
MAX_EXPANDED_NODES = 200_000

_TIME_OF_DAY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")


class _LimitedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with a depth limit, an expansion limit and times of day as text."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                msg = f"nesting deeper than {MAX_DEPTH} levels"
                raise ComposerError(None, None, msg, mark)
            return super().compose_node(parent, index)  # type: ignore[arg-type]  # stub: int; PyYAML also passes None
        finally:
            self._depth -= 1

    def construct_yaml_timestamp(self, node: ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as error:  # 2026-02-30, month 13, ...: a date that does not exist
            msg = f"{node.value!r} is not a date ({error}); expected YYYY-MM-DD"
            raise ConstructorError(None, None, msg, node.start_mark) from None

    def compose_document(self) -> Node | None:
        node = super().compose_document()
        if node is not None:
            _check_expansion(node)
        return node


_LimitedLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", _LimitedLoader.construct_yaml_timestamp
)

# The times-of-day resolver goes first, before YAML 1.1's base-60 integers and floats.
_LimitedLoader.yaml_implicit_resolvers = {
    key: list(resolvers) for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _digit in "0123456789":
    _LimitedLoader.yaml_implicit_resolvers.setdefault(_digit, []).insert(
        0, ("tag:yaml.org,2002:str", _TIME_OF_DAY)
    )


def _check_expansion(root: Node) -> None:
    """Refuse a node graph that expands (aliases followed) to too many nodes, or a cycle."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if not children_done:
            if id(node) in open_nodes:
                msg = "an alias (*name) refers to the node that contains it"
                raise ComposerError(None, None, msg, node.start_mark)
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        open_nodes.discard(id(node))
        size = 1 + sum(sizes[id(child)] for child in children)
        if size > MAX_EXPANDED_NODES:
            msg = (
                f"aliases (*name) expand to more than {MAX_EXPANDED_NODES:,} values; "
                "expected a plain scenario (write the values out)"
            )
            raise ComposerError(None, None, msg, node.start_mark)
        sizes[id(node)] = size


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely, within the limits of this module.

    Raises
    ------
    yaml.YAMLError
        On a syntax error or a limit reached; ``problem_mark`` gives the position.
    """
    loader = _LimitedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
