"""A small Markdown renderer that is safe by construction, for the public help centre.

Article bodies are written by staff but can be imported from anywhere, and the
help centre is public, so the renderer must not be a way to put script on the
page. It therefore never passes HTML through: every piece of source text is
HTML-escaped *first* and only then given the little markup this module adds
itself (headings, paragraphs, lists, block quotes, code, bold, italic, links).
Link targets are the one attribute value taken from the source; they must be
``http``, ``https``, ``mailto`` or relative, contain no whitespace or control
characters, and are escaped again for the attribute. Anything else (raw HTML,
images, ``javascript:`` links) shows up as the literal text it is.

Also here: :func:`plain_text`, the same source reduced to readable text for
search snippets.
"""

from __future__ import annotations

import html
import re

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_ORDERED = re.compile(r"^\s{0,3}\d{1,9}[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")

# Inline patterns run on *escaped* text, so they never see a raw < > " or '.
_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\[\]\n]{1,500})\]\(([^()\s]{1,2000})\)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])|(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_SAFE_SCHEMES = {"http", "https", "mailto"}
_PLACEHOLDER = "\x00{}\x00"
_PLACEHOLDER_RE = re.compile("\x00(\\d+)\x00")

#: Source beyond this is not rendered (a help article is not a book).
MAX_SOURCE_CHARS = 200_000


def safe_url(url: str) -> str | None:
    """``url`` if it is safe as a link target (http/https/mailto or relative), else None."""
    if not url or len(url) > 2000:
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    if "\\" in url:
        return None  # browsers read "\\" as "/", so "\\evil.example" would leave the site
    scheme = _SCHEME.match(url)
    if scheme is not None:
        return url if scheme.group(1).lower() in _SAFE_SCHEMES else None
    if ":" in url.split("/", 1)[0]:
        return None  # "x:y" without a proper scheme: refuse rather than guess
    return url


def _inline(text: str) -> str:
    """Escape ``text``, then add code, link, bold and italic markup."""
    escaped = html.escape(text, quote=True)
    kept: list[str] = []

    def keep(fragment: str) -> str:
        kept.append(fragment)
        return _PLACEHOLDER.format(len(kept) - 1)

    escaped = escaped.replace("\x00", "")
    escaped = _CODE.sub(lambda m: keep(f"<code>{m.group(1)}</code>"), escaped)

    def link(match: re.Match[str]) -> str:
        label, target = match.group(1), html.unescape(match.group(2))
        url = safe_url(target)
        if url is None:
            return match.group(0)  # shown as the (escaped) text it is
        href = html.escape(url, quote=True)
        return keep(f'<a href="{href}" rel="nofollow noopener">') + label + keep("</a>")

    escaped = _LINK.sub(link, escaped)
    escaped = _BOLD.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", escaped)
    escaped = _ITALIC.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", escaped)
    return _PLACEHOLDER_RE.sub(lambda m: kept[int(m.group(1))], escaped)


def render(source: str) -> str:
    """Markdown to HTML; total (any text renders) and safe (see the module docstring)."""
    lines = source[:MAX_SOURCE_CHARS].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""
    quote: list[str] = []

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            out.append("<p>" + "<br>\n".join(_inline(p) for p in paragraph) + "</p>")
            paragraph.clear()
        if items:
            body = "".join(f"<li>{_inline(i)}</li>" for i in items)
            out.append(f"<{list_tag}>{body}</{list_tag}>")
            items.clear()
        if quote:
            out.append("<blockquote>" + render("\n".join(quote)) + "</blockquote>")
            quote.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            flush()
            fence = _FENCE.match(line)
            assert fence is not None
            code: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith(fence.group(1)):
                code.append(lines[i])
                i += 1
            out.append("<pre><code>" + html.escape("\n".join(code), quote=True) + "</code></pre>")
            i += 1
            continue
        i += 1
        if not line.strip():
            flush()
            continue
        if quote and not _QUOTE.match(line):
            flush()
        if heading := _HEADING.match(line):
            flush()
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif _RULE.match(line):
            flush()
            out.append("<hr>")
        elif match := _QUOTE.match(line):
            if paragraph or items:
                flush()
            quote.append(match.group(1))
        elif item := _BULLET.match(line) or _ORDERED.match(line):
            tag = "ul" if _BULLET.match(line) else "ol"
            if paragraph or (items and tag != list_tag):
                flush()
            list_tag = tag
            items.append(item.group(1))
        elif items and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()  # a wrapped list item
        else:
            if items:
                flush()
            paragraph.append(line.strip())
    flush()
    return "\n".join(out)


_MD_EMPHASIS = re.compile(r"[*`]+")
_MD_NOISE = re.compile(r"[#_>|\[\]]+")
_MD_LINK_TARGET = re.compile(r"\]\([^()\s]{0,2000}\)")


def plain_text(source: str, limit: int = MAX_SOURCE_CHARS) -> str:
    """The readable text of Markdown on one line: markup and link targets removed."""
    text = _MD_LINK_TARGET.sub("]", source[:limit])
    text = _MD_NOISE.sub(" ", _MD_EMPHASIS.sub("", text))
    return " ".join(text.split())
