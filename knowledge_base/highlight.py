"""Search-result snippets with the query's words marked.

A result list is scanned, not read: the customer should see at once *why* an
article came up. The snippet is a window of the article's plain text around
the first place the query's words occur; the highlights are character offsets
into that snippet (for API clients that render their own way) and, for the
help centre, an HTML version with ``<mark>`` around them, built by escaping
each piece separately so nothing from the article or the query is ever
markup.

A word is highlighted when its normalised stem is one of the query's (so
"returns" marks "returned") or, for longer words, when it is within a small
edit distance of a query word (so the typo "retrun" still marks "return"),
mirroring the index's own typo tolerance.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from knowledge_base.markdown import plain_text
from knowledge_base.normalize import (
    MAX_QUERY_CHARS,
    STOP_WORDS,
    fold,
    stem,
    strip_markup,
    tokenize,
)

SNIPPET_CHARS = 200
#: Words shorter than this are only highlighted on an exact stem match.
FUZZY_MIN_LENGTH = 4
FUZZY_MIN_SIMILARITY = 80.0
_WORD = re.compile(r"\w+")
#: Words never marked: stop words, and the question words the index keeps (they
#: tell intents apart) but that say nothing to a reader scanning results.
UNMARKED = STOP_WORDS | frozenset("how what when where why who which not no".split())


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    highlights: tuple[tuple[int, int], ...]

    def html(self) -> str:
        """The snippet as HTML: escaped text, highlights in ``<mark>``."""
        parts: list[str] = []
        position = 0
        for start, end in self.highlights:
            parts.append(html.escape(self.text[position:start], quote=True))
            parts.append("<mark>" + html.escape(self.text[start:end], quote=True) + "</mark>")
            position = end
        parts.append(html.escape(self.text[position:], quote=True))
        return "".join(parts)


class QueryWords:
    """What of a query is worth highlighting: its content words, folded and stemmed."""

    def __init__(self, query: str) -> None:
        words = [w for w in tokenize(query, max_chars=MAX_QUERY_CHARS) if w not in UNMARKED]
        self.words = tuple(dict.fromkeys(words))[:32]
        self.stems = frozenset(stem(w) for w in self.words)
        self.long_stems = tuple(s for s in self.stems if len(s) >= FUZZY_MIN_LENGTH)

    def matches(self, word: str) -> bool:
        folded = fold(word)
        if folded in UNMARKED:
            return False
        stemmed = stem(folded)
        if stemmed in self.stems:
            return True
        if len(stemmed) < FUZZY_MIN_LENGTH:
            return False
        return any(
            fuzz.ratio(stemmed, s, score_cutoff=FUZZY_MIN_SIMILARITY) for s in self.long_stems
        )


def highlights(text: str, query: QueryWords) -> list[tuple[int, int]]:
    """Offsets ``[start, end)`` of the words of ``text`` that match the query, in order."""
    if not query.words:
        return []
    return [m.span() for m in _WORD.finditer(text) if query.matches(m.group())]


def make_snippet(source: str, query: str, limit: int = SNIPPET_CHARS) -> Snippet:
    """A window of ``source`` (Markdown) of at most ``limit`` characters around the first match."""
    words = QueryWords(query)
    text = plain_text(strip_markup(source[:20_000]))
    if len(text) > limit:
        spans = highlights(text, words)
        first = spans[0][0] if spans else 0
        start = 0 if first < limit // 3 else text.rfind(" ", 0, first - limit // 4) + 1
        end = start + limit
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start + limit // 2 else end
        text = ("… " if start else "") + text[start:end].strip() + (" …" if end < len(text) else "")
    return Snippet(text, tuple(highlights(text, words)))
