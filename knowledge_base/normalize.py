"""Text normalisation shared by indexing and querying.

Customers type in every way imaginable: capitals, accents, emoji, pasted HTML,
typos, whole e-mails. The index only works if articles and questions are
reduced to the *same* terms, so this module is the single place that decides
what a term is. Everything here is pure, deterministic and total: any ``str``
(empty, whitespace, 100 KB, mixed scripts, ``<script>`` tags) yields a
possibly-empty tuple of terms and never raises.

The stemmer is deliberately light (a handful of English suffix rules of our
own): an aggressive stemmer conflates unrelated words ("order"/"ord"), which
hurts precision more than the recall it buys, and the character n-grams of the
index already absorb most remaining inflection and typos.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

#: Queries longer than this are cut before any work: a customer message of
#: several kilobytes is not a FAQ question, and cutting keeps latency bounded.
MAX_QUERY_CHARS = 2_000
#: Article texts are cut here before indexing; nobody searches page 40 of a FAQ.
MAX_DOCUMENT_CHARS = 50_000
#: No single token longer than this is kept (base64 blobs, URLs without spaces).
MAX_TOKEN_CHARS = 40

_SCRIPT_STYLE = re.compile(
    r"<(script|style)\b[^<>]{0,500}>.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[^<>]{0,500}>")
_MD_LINK_TARGET = re.compile(r"\]\([^()\[\]\s]{0,300}\)")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_APOSTROPHE = re.compile(r"(?<=\w)['\u2019](?=\w)")
_WORD = re.compile(r"\w+")

#: Function words that say little about *which* article is meant. Negations and
#: question words ("not", "how", "why", "when") are kept: they change intent.
STOP_WORDS: frozenset[str] = frozenset(
    """
    a an the and or but if then so of to in on at by for from with about as into
    is are was were be been being am do does did doing have has had having
    i me my mine myself we us our ours you your yours he him his she her hers it its
    they them their theirs this that these those there here
    will would shall should can could may might must
    please pls plz just also too very really some any all
    hi hello hey thanks thank
    """.split()
)

# (suffix, replacement, minimum length of what remains). Ordered: first match wins.
_SUFFIX_RULES: tuple[tuple[str, str, int], ...] = (
    ("ational", "ate", 3),
    ("izations", "ize", 3),
    ("ization", "ize", 3),
    ("ations", "ate", 3),
    ("ation", "ate", 3),
    ("fulness", "ful", 3),
    ("iveness", "ive", 3),
    ("ousness", "ous", 3),
    ("ingly", "", 3),
    ("ments", "", 4),
    ("ment", "", 4),
    ("ings", "", 3),
    ("ing", "", 3),
    ("edly", "", 3),
    ("ies", "y", 2),
    ("ied", "y", 2),
    ("ly", "", 5),
    ("ed", "", 3),
    ("sses", "ss", 2),
    ("xes", "x", 2),
    ("ches", "ch", 2),
    ("shes", "sh", 2),
    ("ss", "ss", 2),
    ("us", "us", 2),
    ("is", "is", 2),
    ("s", "", 3),
)
_DOUBLE_CONSONANT = re.compile(r"([b-df-hj-np-tv-z])\1$")
_NO_UNDOUBLE = ("ll", "ss", "zz", "ff")


def strip_markup(text: str) -> str:
    """Remove HTML (dropping script/style bodies), Markdown link targets and URLs.

    Pasted HTML and links would otherwise flood the index with "https", "www",
    "div" terms that match everything and mean nothing.
    """
    if "<" in text:
        text = _SCRIPT_STYLE.sub(" ", text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if "](" in text:
        text = _MD_LINK_TARGET.sub("] ", text)
    if "://" in text or "www." in text.lower():
        text = _URL.sub(" ", text)
    return text


def fold(text: str) -> str:
    """Case-fold and strip accents so "Café", "CAFE" and "cafe" are one word.

    Letters of other scripts survive (NFKD only splits off combining marks),
    so Cyrillic or Greek queries still produce terms of their own.
    """
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """Strip one common English suffix: "returns", "returned", "returning" -> "return".

    Words that are short, contain digits or are not ASCII are left alone: the
    rules are English and would mangle anything else.
    """
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    for suffix, replacement, min_stem in _SUFFIX_RULES:
        if word.endswith(suffix):
            base = word[: len(word) - len(suffix)]
            if len(base) < min_stem:
                continue
            word = base + replacement
            if suffix in ("ing", "ings", "ed") and _DOUBLE_CONSONANT.search(word):
                # "shipp" -> "ship", "cancell" -> "cancel"; but "bill", "press" stay.
                if not word.endswith(_NO_UNDOUBLE) or (word.endswith("ell") and len(word) >= 6):
                    word = word[:-1]
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def tokenize(text: str, *, max_chars: int = MAX_DOCUMENT_CHARS) -> list[str]:
    """Split text into folded words (markup removed, apostrophes joined, emoji dropped)."""
    if not text or text.isspace():
        return []
    text = strip_markup(text[: max_chars * 2])
    if len(text) > max_chars:
        # Cut at a word boundary: half a word would be a term nobody typed.
        cut = text[:max_chars]
        if not text[max_chars].isspace():
            space = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
            cut = cut[:space] if space > 0 else cut
        text = cut
    text = _APOSTROPHE.sub("", fold(text))
    return [w for w in _WORD.findall(text.replace("_", " ")) if len(w) <= MAX_TOKEN_CHARS]


def terms(
    text: str, *, max_chars: int = MAX_DOCUMENT_CHARS, keep_stop_words: bool = False
) -> list[str]:
    """Stemmed search terms of ``text`` in order; stop words dropped unless asked.

    If *every* word is a stop word ("how do I do that"), they are kept: an
    empty query would match nothing, while its stop words still carry a little
    signal that BM25 weights down on its own.
    """
    words = tokenize(text, max_chars=max_chars)
    if not keep_stop_words:
        content = [w for w in words if w not in STOP_WORDS]
        if content:
            words = content
    return [stem(w) for w in words]


def normalize_query(text: str) -> list[str]:
    """The stemmed terms of a customer message, cut to :data:`MAX_QUERY_CHARS`."""
    return terms(text, max_chars=MAX_QUERY_CHARS)
