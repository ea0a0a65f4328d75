"""The protocol through which the router asks a knowledge base for an answer.

The core knows nothing about how answers are found. The knowledge base is a
leaf package that imports nothing of ours, so the contract is structural: any
object whose ``answer`` coroutine returns something shaped like
:class:`AnswerLike` plugs in. Until one is configured, :class:`DecliningAnswerer`
is used and every question escalates.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class Decision(enum.StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    DECLINE = "decline"


class SuggestionLike(Protocol):
    @property
    def article_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def url(self) -> str | None: ...
    @property
    def snippet(self) -> str | None: ...


class AnswerLike(Protocol):
    @property
    def decision(self) -> str:
        """One of "answer", "suggest", "decline"."""
        ...

    @property
    def confidence(self) -> float: ...
    @property
    def text(self) -> str | None:
        """The text the bot sends when the decision is "answer"."""
        ...

    @property
    def suggestions(self) -> Sequence[SuggestionLike]:
        """The answered article first for "answer"; up to 3 for "suggest"."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Suggestion:
    article_id: str
    title: str
    score: float
    url: str | None = None
    snippet: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    decision: str
    confidence: float
    text: str | None = None
    suggestions: tuple[Suggestion, ...] = ()


@runtime_checkable
class Answerer(Protocol):
    async def answer(self, question: str) -> AnswerLike:
        """Answer, suggest or decline; must not block the event loop."""
        ...


class DecliningAnswerer:
    """The answerer used before a knowledge base is plugged in: it never answers."""

    async def answer(self, question: str) -> AnswerLike:
        return Answer(decision=Decision.DECLINE, confidence=0.0)
