"""A tiny document model rendered twice: to Markdown and to a self-contained HTML page.

Text may use two inline marks, ```code``` and ``**bold**``; everything else is literal.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

__all__ = ["Document"]

_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*")

_CSS = """body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;
line-height:1.45;color:#222}table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}code,pre{background:#f6f6f6;font-size:.9em}
pre{padding:.6rem;overflow-x:auto}img{max-width:100%}"""


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str


@dataclass(frozen=True)
class _Para:
    text: str


@dataclass(frozen=True)
class _Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class _Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class _Code:
    text: str


@dataclass(frozen=True)
class _Image:
    path: str
    alt: str


_Block = _Heading | _Para | _Bullets | _Table | _Code | _Image


def _inline_html(text: str) -> str:
    out, pos = [], 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[pos:match.start()]))
        code, bold = match.groups()
        out.append(f"<code>{html.escape(code)}</code>" if code is not None
                   else f"<strong>{html.escape(bold)}</strong>")
        pos = match.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _block_markdown(block: _Block) -> str:
    if isinstance(block, _Heading):
        return "#" * block.level + f" {block.text}"
    if isinstance(block, _Para):
        return block.text
    if isinstance(block, _Bullets):
        return "\n".join(f"- {item}" for item in block.items)
    if isinstance(block, _Code):
        return f"```\n{block.text}\n```"
    if isinstance(block, _Image):
        return f"![{block.alt}]({block.path})"
    lines = ["| " + " | ".join(block.headers) + " |",
             "|" + "|".join(" --- " for _ in block.headers) + "|"]
    for row in block.rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)


def _block_html(block: _Block) -> str:
    if isinstance(block, _Heading):
        return f"<h{block.level}>{_inline_html(block.text)}</h{block.level}>"
    if isinstance(block, _Para):
        return f"<p>{_inline_html(block.text)}</p>"
    if isinstance(block, _Bullets):
        return "<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, _Code):
        return f"<pre>{html.escape(block.text)}</pre>"
    if isinstance(block, _Image):
        return f"<p><img src='{html.escape(block.path)}' alt='{html.escape(block.alt)}'></p>"
    head = "".join(f"<th>{_inline_html(h)}</th>" for h in block.headers)
    body = "".join("<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>"
                   for row in block.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass
class Document:
    """Blocks in order: headings, paragraphs, lists, tables, code, images."""

    blocks: list[_Block] = field(default_factory=list)

    def heading(self, level: int, text: str) -> None:
        self.blocks.append(_Heading(level, text))

    def para(self, text: str) -> None:
        self.blocks.append(_Para(text))

    def bullets(self, items: list[str]) -> None:
        self.blocks.append(_Bullets(tuple(items)))

    def table(self, headers: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(_Table(tuple(headers), tuple(tuple(r) for r in rows)))

    def code(self, text: str) -> None:
        self.blocks.append(_Code(text))

    def image(self, path: str, alt: str) -> None:
        self.blocks.append(_Image(path, alt))

    def markdown(self) -> str:
        return "\n\n".join(_block_markdown(b) for b in self.blocks) + "\n"

    def html(self, title: str) -> str:
        head = (f"<!doctype html>\n<html><head><meta charset='utf-8'>"
                f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>")
        body = "\n".join(_block_html(b) for b in self.blocks)
        return f"{head}\n{body}\n</body></html>\n"
