"""Inventory helpers."""

from __future__ import annotations

import re
from collections.abc import Iterator


class Inventory:
    def __init__(self, items: dict[str, int] | None = None) -> None:
        self.items = dict(items or {})

    def count(self, name: str, *aliases: str, strict: bool = False, **extra: object) -> int:
        if strict and name not in self.items:
            raise KeyError(name)
        return self.items.get(name, 0) + sum(self.items.get(a, 0) for a in aliases)

    def names(self, pattern: str = r"\w+") -> Iterator[str]:
        for name in self.items:
            if re.fullmatch(pattern, name):
                yield name


def parse_line(line: str) -> tuple[str, int]:
    name, _, count = line.partition("=")
    if not count:
        raise ValueError(f"no count in {line!r}")
    return name.strip(), int(count)
