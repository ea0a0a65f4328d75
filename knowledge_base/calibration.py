"""Choosing the answer threshold from the knowledge base's own questions.

Similarity scores mean different things in different knowledge bases (short
FAQ titles vs long articles, 5 vs 50 phrasings per article), so a threshold
fixed once is either timid or reckless somewhere. Instead we ask the articles
themselves, without ever looking at real traffic:

* **held-out questions** — each alternative phrasing is searched as if it were
  not indexed; the right article should still win. This estimates how often a
  confident answer to an *in-scope* message is correct.
* **held-out articles** — a phrasing is searched with its *whole article*
  hidden. Every confident answer is then wrong: this stands in for messages
  the knowledge base does not cover, and the hardest kind, since such a
  message usually sits next to an article on a related subject.

With an assumed share ``out_of_scope_share`` of uncovered messages, the
estimated precision at a threshold ``t`` is::

    (1 - s) * P(correct, conf >= t | in scope)
    ------------------------------------------------------------------
    (1 - s) * P(conf >= t | in scope) + s * P(conf >= t | held-out article)

and the threshold is the lowest one whose estimate reaches
``target_precision``. Held-out articles are harder than typical uncovered
messages, which gives the estimate its safety margin.

Defaults: ``target_precision`` 0.90 is the product goal; ``out_of_scope_share``
0.15 assumes roughly one message in seven asks about something the knowledge
base does not cover. Both are business assumptions, not fitted values: raise
the share for a young knowledge base that covers little of what customers ask.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, replace

from knowledge_base.index import SearchIndex
from knowledge_base.policy import PolicyThresholds, confidence

#: Below this many held-out questions the estimate is noise; the defaults stay.
MIN_SAMPLES = 30


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    """The thresholds chosen and the estimates they were chosen on."""

    thresholds: PolicyThresholds
    #: False when there were too few questions and the given thresholds were kept.
    calibrated: bool
    held_out_questions: int
    held_out_articles: int
    #: Estimated precision and share of in-scope messages answered correctly at the threshold.
    estimated_precision: float
    estimated_deflection: float


def calibrate(
    index: SearchIndex,
    base: PolicyThresholds | None = None,
    *,
    target_precision: float = 0.90,
    out_of_scope_share: float = 0.15,
    min_answer: float = 0.10,
    max_samples: int = 1_500,
    seed: int = 0,
) -> CalibrationReport:
    """Pick ``answer`` for ``index`` by held-out search; the other thresholds are kept.

    ``min_answer`` is a floor: even a knowledge base whose phrasings never
    collide must not answer on a near-zero margin. Costs one search per
    sampled question (at most ``max_samples`` plus a third as many again).
    """
    base = base or PolicyThresholds()
    rng = random.Random(seed)
    pairs = [
        (article.id, i, text)
        for article in index
        if article.published
        for i, text in enumerate(article.texts)
        if i > 0 and text.strip()
    ]
    if len(pairs) < MIN_SAMPLES:
        return CalibrationReport(base, False, len(pairs), 0, 0.0, 0.0)
    questions = rng.sample(pairs, min(max_samples, len(pairs)))
    in_scope: list[tuple[float, bool]] = []
    for article_id, i, text in questions:
        hits = index.search_held_out(text, article_id, i, limit=2)
        in_scope.append((confidence(hits), bool(hits) and hits[0].article_id == article_id))
    outsiders = rng.sample(pairs, min(max(max_samples // 3, 1), len(pairs)))
    unseen = sorted(
        confidence(index.search_held_out(text, article_id, None, limit=2))
        for article_id, _, text in outsiders
    )
    answer, precision, deflection = _threshold(
        in_scope, unseen, target_precision, out_of_scope_share
    )
    answer = min(1.0, max(answer, min_answer))
    return CalibrationReport(
        thresholds=replace(base, answer=round(answer, 4)),
        calibrated=True,
        held_out_questions=len(in_scope),
        held_out_articles=len(unseen),
        estimated_precision=round(precision, 4),
        estimated_deflection=round(deflection, 4),
    )


def _threshold(
    in_scope: list[tuple[float, bool]], unseen: list[float], target: float, share: float
) -> tuple[float, float, float]:
    """Lowest confidence whose estimated precision reaches ``target`` (1.0 if none does)."""
    ranked = sorted(in_scope, key=lambda cc: cc[0], reverse=True)
    n = len(ranked)
    best = (1.0, 1.0, 0.0)
    correct = 0
    for answered, (conf, ok) in enumerate(ranked, start=1):
        correct += ok
        if conf <= 0.0:
            break
        false_rate = (len(unseen) - bisect.bisect_left(unseen, conf)) / max(1, len(unseen))
        answered_share = (1.0 - share) * answered / n + share * false_rate
        precision = (1.0 - share) * correct / n / answered_share
        if precision >= target:
            best = (conf, precision, correct / n)
    return best
