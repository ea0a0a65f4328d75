"""Knowledge gaps: what customers asked that the knowledge base could not settle.

Every declined question and every answer marked "not helpful" is a hint of a
missing or weak article. One hint means little; twenty customers asking the
same thing in different words is the next article to write. So the questions
are grouped by similarity and ranked by how many customers are in each group.

Grouping uses the same normalisation as the index (folded, stemmed, stop words
dropped), then greedy clustering with rapidfuzz: a question joins the first
group whose representative shares most of its words (``token_set_ratio``) and
is not much longer or shorter (``token_sort_ratio``, which stops a one-word
question from swallowing every question that contains that word). Each gap
lists its nearest existing article, if any: a "not helpful" gap next to an
article says "rewrite this one", a declined gap far from everything says
"write a new one".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz, process

from knowledge_base.kb import KnowledgeBase
from knowledge_base.normalize import normalize_query
from knowledge_base.storage.store import GapQuestion

SET_SIMILARITY = 80.0
SORT_SIMILARITY = 55.0
EXAMPLES = 3


@dataclass(slots=True)
class Gap:
    """A group of similar unsettled questions."""

    key: str
    questions: Counter[str] = field(default_factory=Counter)
    declined: int = 0
    not_helpful: int = 0
    last_seen: datetime | None = None
    nearest: dict[str, Any] | None = None

    @property
    def size(self) -> int:
        return self.declined + self.not_helpful

    def examples(self, n: int = EXAMPLES) -> list[str]:
        return [q for q, _ in self.questions.most_common(n)]

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "declined": self.declined,
            "not_helpful": self.not_helpful,
            "examples": self.examples(),
            "terms": self.key,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
            "nearest_article": self.nearest,
        }


def _group_of(key: str, keys: list[str]) -> int | None:
    """Index of the first representative in ``keys`` similar enough to ``key``."""
    close = process.extract(
        key, keys, scorer=fuzz.token_set_ratio, score_cutoff=SET_SIMILARITY, limit=10
    )
    for _, _, index in sorted(close, key=lambda c: c[2]):
        if fuzz.token_sort_ratio(key, keys[index]) >= SORT_SIMILARITY:
            return int(index)
    return None


def find_gaps(
    questions: Iterable[GapQuestion], kb: KnowledgeBase | None = None, *, limit: int = 50
) -> list[Gap]:
    """Group ``questions`` by similarity; the biggest groups first, at most ``limit``."""
    by_key: dict[str, list[GapQuestion]] = {}
    for q in questions:
        key = " ".join(sorted(set(normalize_query(q.question))))
        if key:  # emoji-only or empty questions carry nothing to group on
            by_key.setdefault(key, []).append(q)

    gaps: list[Gap] = []
    keys: list[str] = []
    # Most frequent phrasings first, so they become the groups' representatives.
    for key in sorted(by_key, key=lambda k: (-len(by_key[k]), k)):
        index = _group_of(key, keys)
        if index is None:
            gap = Gap(key)
            gaps.append(gap)
            keys.append(key)
        else:
            gap = gaps[index]
        for q in by_key[key]:
            gap.questions[" ".join(q.question.split())[:300]] += 1
            if q.kind == "declined":
                gap.declined += 1
            else:
                gap.not_helpful += 1
            if q.created_at is not None and (gap.last_seen is None or q.created_at > gap.last_seen):
                gap.last_seen = q.created_at

    gaps.sort(key=lambda g: (-g.size, -(g.last_seen.timestamp() if g.last_seen else 0.0)))
    gaps = gaps[:limit]
    if kb is not None:
        for gap in gaps:
            hits = kb.search(gap.examples(1)[0], 1)
            if hits:
                hit = hits[0]
                gap.nearest = {
                    "id": hit.article_id,
                    "title": hit.title,
                    "score": round(hit.score, 3),
                }
    return gaps
