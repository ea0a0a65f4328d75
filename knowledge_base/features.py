"""Turning a text into the sparse features the index compares.

Three kinds of feature, because each catches what the others miss:

* word unigrams (stemmed, stop words *kept*: "how do i" vs "where is my"
  separate intents; BM25/IDF weights them down on its own),
* word bigrams ("gift card" is not "gift" + "card"),
* character 3-grams of each word with boundary marks ("<re", "rn>"), which
  give typo and morphology tolerance ("reservations" ~ "reserve"). (3- plus
  4-grams scored the same on the CLINC150 dev set at twice the cost.)

Features are plain strings with a one-character kind prefix so the three kinds
never collide (the index interns them as integers). Per-word character grams
are cached: the vocabulary of a help centre is small even when its articles
are many.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from itertools import pairwise

from knowledge_base.normalize import MAX_DOCUMENT_CHARS, stem, tokenize

CHAR_NGRAM_SIZES: tuple[int, ...] = (3,)
#: Long bodies are represented by their first words only: the opening of an
#: article says what it is about, and this bounds the cost of one article.
MAX_FEATURE_WORDS = 1_000

WORD = "w"
BIGRAM = "b"
CHAR = "c"


def words(text: str, *, max_chars: int = MAX_DOCUMENT_CHARS) -> list[str]:
    """Stemmed words of ``text`` in order, stop words included."""
    return [stem(w) for w in tokenize(text, max_chars=max_chars)[:MAX_FEATURE_WORDS]]


@lru_cache(maxsize=131_072)
def char_grams(word: str) -> tuple[str, ...]:
    """Character n-gram features of one word, boundaries marked with < and >."""
    padded = f"<{word}>"
    return tuple(
        CHAR + padded[i : i + n] for n in CHAR_NGRAM_SIZES for i in range(len(padded) - n + 1)
    )


def word_features(seq: list[str]) -> list[str]:
    """Unigram and bigram features: the ones the inverted index keeps postings for."""
    feats = [WORD + w for w in seq]
    feats.extend(f"{BIGRAM}{a} {b}" for a, b in pairwise(seq))
    return feats


def features(seq: list[str]) -> Counter[str]:
    """All features (unigrams, bigrams, character grams) of a word sequence, with counts."""
    counts: Counter[str] = Counter(word_features(seq))
    for w in seq:
        counts.update(char_grams(w))
    return counts
