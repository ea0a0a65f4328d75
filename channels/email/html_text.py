"""HTML mail bodies as readable plain text.

HTML-only mail is common (mobile clients, ticket systems), and the core,
the bot and the agents' desk all work on text. The conversion keeps what a
reader needs: paragraphs, line breaks, lists, link targets ("text (url)"),
quoted blocks as "> " lines (so reply trimming still finds them), and drops
what a reader never sees (scripts, styles, the head).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_DROP = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "object"})
_BLOCK = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "main", "aside", "nav",
        "h1", "h2", "h3", "h4", "h5", "h6", "table", "form", "fieldset", "address",
        "center", "dl", "dt", "dd", "figure", "figcaption",
    }
)  # fmt: skip
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "dl", "figure"})
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "area", "base", "col"})
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
_MANY_BLANK = re.compile(r"\n{3,}")
# Pathological documents are cut rather than converted slowly.
MAX_HTML_CHARS = 2_000_000


class _TextBuilder(HTMLParser):
    """Collects lines; each line remembers the quote depth it started at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._prefix = ""
        self._breaks = 0  # newlines wanted before the next text
        self._drop_depth = 0
        self._pre_depth = 0
        self._quote_depth = 0
        self._lists: list[list[int]] = []  # [counter] per open list, -1 for bullets
        self._links: list[tuple[str, list[str]]] = []

    # -- output primitives -------------------------------------------------
    def _want_breaks(self, count: int) -> None:
        if self._line or self.lines:
            self._breaks = max(self._breaks, count)

    def _end_line(self) -> None:
        self.lines.append(self._prefix + "".join(self._line))
        self._line = []
        self._prefix = "> " * self._quote_depth

    def _write(self, text: str) -> None:
        if not text:
            return
        if self._breaks:
            previous_depth = self._prefix.count(">")
            self._end_line()
            blank = ">" * min(previous_depth, self._quote_depth)
            self.lines.extend(blank for _ in range(self._breaks - 1))
            self._breaks = 0
        elif not self._line and not self.lines:
            self._prefix = "> " * self._quote_depth
        self._line.append(text)
        for _, collected in self._links:
            collected.append(text)

    def _at_line_start(self) -> bool:
        return self._breaks > 0 or not "".join(self._line).strip()

    # -- parser callbacks --------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP:
            self._drop_depth += 1
            return
        if self._drop_depth:
            return
        if tag == "br":
            self._breaks += 1
            if not self._line and not self.lines:
                self.lines.append("")
        elif tag == "hr":
            self._want_breaks(1)
            self._write("---")
            self._want_breaks(1)
        elif tag == "pre":
            self._pre_depth += 1
            self._want_breaks(2)
        elif tag == "blockquote":
            self._want_breaks(1)
            self._quote_depth += 1
        elif tag in ("ul", "ol"):
            self._lists.append([-1 if tag == "ul" else 0])
            self._want_breaks(1)
        elif tag == "li":
            self._want_breaks(1)
            indent = "  " * max(0, len(self._lists) - 1)
            if self._lists and self._lists[-1][0] >= 0:
                self._lists[-1][0] += 1
                marker = f"{self._lists[-1][0]}. "
            else:
                marker = "- "
            self._write(indent + marker)
        elif tag == "tr":
            self._want_breaks(1)
        elif tag in ("td", "th"):
            if not self._at_line_start():
                self._write(" ")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self._links.append((href.strip(), []))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self._write(f"[{_SPACE.sub(' ', alt)}]")
        elif tag in _BLOCK:
            self._want_breaks(2 if tag in _PARAGRAPH else 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP:
            self._drop_depth = max(0, self._drop_depth - 1)
            return
        if self._drop_depth:
            return
        if tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)
            self._want_breaks(2)
        elif tag == "blockquote":
            self._quote_depth = max(0, self._quote_depth - 1)
            self._want_breaks(1)
        elif tag in ("ul", "ol"):
            if self._lists:
                self._lists.pop()
            self._want_breaks(1)
        elif tag == "a" and self._links:
            href, collected = self._links.pop()
            self._close_link(href, "".join(collected))
        elif tag in _BLOCK:
            self._want_breaks(2 if tag in _PARAGRAPH else 1)

    def _close_link(self, href: str, text: str) -> None:
        lowered = href.lower()
        if not href or lowered.startswith(("#", "javascript:", "data:", "cid:")):
            return
        shown = text.strip()
        target = href[7:] if lowered.startswith("mailto:") else href
        if shown and (shown == target or shown.rstrip("/") == target.rstrip("/")):
            return
        if not shown:
            self._write(target)
        else:
            self._write(f" ({target})")

    def handle_data(self, data: str) -> None:
        if self._drop_depth:
            return
        if self._pre_depth:
            parts = data.replace("\r\n", "\n").split("\n")
            for i, part in enumerate(parts):
                if i:
                    self._breaks += 1
                self._write(part)
            return
        text = _SPACE.sub(" ", data)
        if self._at_line_start():
            text = text.lstrip()
        elif "".join(self._line).endswith(" "):
            text = text.lstrip(" ")
        self._write(text)

    def finish(self) -> str:
        self.close()
        if self._line:
            self._end_line()
        text = "\n".join(line.rstrip() for line in self.lines)
        return _MANY_BLANK.sub("\n\n", text).strip("\n")


_TAG = re.compile(r"<[^>]*>")


def html_to_text(html: str) -> str:
    """Readable text for an HTML body. Never raises."""
    html = html[:MAX_HTML_CHARS]
    builder = _TextBuilder()
    try:
        builder.feed(html)
        return builder.finish()
    except Exception:  # html.parser is lenient, but keep the promise regardless
        import html as html_module

        text = html_module.unescape(_TAG.sub(" ", html))
        return _MANY_BLANK.sub(
            "\n\n", "\n".join(_SPACE.sub(" ", ln).strip() for ln in text.splitlines())
        ).strip()
