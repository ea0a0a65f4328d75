"""Answer policy: answer with one article, suggest a few, or decline.

A wrong answer costs more than no answer: the customer is misled and still
has to reach an agent. So the bot answers only when the best article is both
*similar* to the message and *clearly ahead* of the next-best **different**
article. The confidence is the geometric mean of the two::

    confidence = sqrt(best * (best - second))

It is 0 when two articles tie (the message is ambiguous, whatever the scores)
and when nothing matches, and 1 only for an exact match with no rival. Below
the answer threshold, articles that still match reasonably are offered as
suggestions (the customer picks); below that, the bot declines and the
conversation escalates to a person.

The default thresholds come from leave-one-out calibration on help-centre
questions (see :mod:`knowledge_base.calibration`), which a
:class:`~knowledge_base.kb.KnowledgeBase` redoes on its own articles when it
has enough questions to learn from.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge_base.articles import Article
from knowledge_base.index import Hit
from knowledge_base.normalize import strip_markup

ANSWER = "answer"
SUGGEST = "suggest"
DECLINE = "decline"

SNIPPET_CHARS = 160


@dataclass(frozen=True, slots=True)
class PolicyThresholds:
    """Where the policy draws its lines; all scores and confidences are in 0..1."""

    #: Minimum confidence to answer directly. 0.2 is what calibration yields on
    #: the CLINC150 articles' own questions (0.15-0.2), rounded up for safety.
    answer: float = 0.2
    #: Minimum score for an article to be offered as a suggestion: below this
    #: cosine the article shares little more than a word or two with the message.
    suggest: float = 0.2
    #: Suggestions must score at least this fraction of the best article's score,
    #: so a clear favourite is not diluted by also-rans.
    suggest_ratio: float = 0.6
    max_suggestions: int = 3

    def __post_init__(self) -> None:
        for name in ("answer", "suggest", "suggest_ratio"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, not {value!r}")
        if self.max_suggestions < 1:
            raise ValueError("max_suggestions must be at least 1")


@dataclass(frozen=True, slots=True)
class KBSuggestion:
    """An article offered to the customer (or the one answered with)."""

    article_id: str
    title: str
    score: float
    url: str | None = None
    snippet: str | None = None


@dataclass(frozen=True, slots=True)
class KBAnswer:
    """What the knowledge base says about one message; shaped like the core's ``AnswerLike``."""

    decision: str
    confidence: float
    text: str | None = None
    suggestions: tuple[KBSuggestion, ...] = ()


def confidence(hits: Sequence[Hit]) -> float:
    """Geometric mean of the best score and its margin over the next different article."""
    if not hits:
        return 0.0
    best = hits[0].score
    second = hits[1].score if len(hits) > 1 else 0.0
    return math.sqrt(max(0.0, best) * max(0.0, best - second))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def snippet(article: Article, limit: int = SNIPPET_CHARS) -> str | None:
    """The opening of the body as plain text, cut at a sentence or word boundary."""
    return _snippet_of(article.body, limit)


_MARKS = re.compile(r"[#*_`>|]+")


@functools.lru_cache(maxsize=1024)
def _snippet_of(body: str, limit: int) -> str | None:
    """Cached by body: every suggestion carries one, and stripping the Markdown of the
    same few popular articles was a tenth of an answer's cost."""
    text = strip_markup(body)
    text = _MARKS.sub(" ", text)
    text = " ".join(text.split())
    if not text:
        return None
    if len(text) <= limit:
        return text
    cut = text[:limit]
    ends = [m.start() for m in _SENTENCE_END.finditer(cut)]
    if ends and ends[-1] > limit // 2:
        return cut[: ends[-1]]
    return cut.rsplit(" ", 1)[0] + "…"


def answer_text(article: Article) -> str:
    """What the bot sends when it answers: the title, the body, and the link if any."""
    parts = [article.title.strip()]
    if article.body.strip():
        parts.append(article.body.strip())
    if article.url:
        parts.append(article.url)
    return "\n\n".join(p for p in parts if p)


def _suggestion(hit: Hit) -> KBSuggestion:
    article = hit.article
    return KBSuggestion(
        article_id=article.id,
        title=article.title,
        score=round(hit.score, 4),
        url=article.url,
        snippet=snippet(article),
    )


class AnswerPolicy:
    """Turns ranked search hits into a decision, using :class:`PolicyThresholds`."""

    def __init__(self, thresholds: PolicyThresholds | None = None) -> None:
        self.thresholds = thresholds or PolicyThresholds()

    def decide(self, hits: Sequence[Hit]) -> KBAnswer:
        """Answer, suggest or decline for hits ranked best first (one per article)."""
        t = self.thresholds
        conf = round(confidence(hits), 4)
        if not hits:
            return KBAnswer(decision=DECLINE, confidence=0.0)
        best = hits[0]
        if conf >= t.answer and best.score > 0.0:
            return KBAnswer(
                decision=ANSWER,
                confidence=conf,
                text=answer_text(best.article),
                suggestions=(_suggestion(best),),
            )
        floor = max(t.suggest, best.score * t.suggest_ratio)
        offered = tuple(_suggestion(h) for h in hits[: t.max_suggestions] if h.score >= floor)
        if offered:
            return KBAnswer(decision=SUGGEST, confidence=conf, suggestions=offered)
        return KBAnswer(decision=DECLINE, confidence=conf)

    def with_agent_candidates(self, reply: KBAnswer, hits: Sequence[Hit]) -> KBAnswer:
        """A decline that still carries the best few candidates, for the agent.

        The customer is never shown these (the core only puts a decline's
        suggestions on the escalated conversation), but an agent picking up a
        question the bot gave up on starts faster from "maybe one of these"
        than from nothing.
        """
        if reply.decision != DECLINE or reply.suggestions:
            return reply
        candidates = tuple(
            _suggestion(h) for h in hits[: self.thresholds.max_suggestions] if h.score > 0.0
        )
        if not candidates:
            return reply
        return KBAnswer(decision=DECLINE, confidence=reply.confidence, suggestions=candidates)
