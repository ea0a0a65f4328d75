"""Answer policy: answer when sure, suggest when unsure, decline when lost."""

from __future__ import annotations

import math

import pytest

from knowledge_base import Article, KnowledgeBase, PolicyThresholds
from knowledge_base.index import Hit
from knowledge_base.policy import ANSWER, DECLINE, SUGGEST, AnswerPolicy, confidence, snippet


def _hit(article_id: str, score: float, body: str = "Body text.") -> Hit:
    article = Article(article_id, f"Title {article_id}", body, (f"question {article_id}",))
    return Hit(article, score, article.title)


def test_clear_winner_is_answered_with_its_text() -> None:
    policy = AnswerPolicy(PolicyThresholds(answer=0.3))
    reply = policy.decide([_hit("a", 0.8, "Do this."), _hit("b", 0.2)])
    assert reply.decision == ANSWER
    assert reply.text is not None and "Title a" in reply.text and "Do this." in reply.text
    assert [s.article_id for s in reply.suggestions] == ["a"]
    assert reply.confidence == pytest.approx(math.sqrt(0.8 * 0.6), abs=1e-3)


def test_tie_between_two_articles_is_not_answered_but_suggested() -> None:
    reply = AnswerPolicy().decide([_hit("a", 0.7), _hit("b", 0.69), _hit("c", 0.1)])
    assert reply.decision == SUGGEST
    assert reply.text is None
    assert [s.article_id for s in reply.suggestions] == ["a", "b"]  # c is far behind
    assert reply.confidence < 0.1


def test_weak_matches_are_declined() -> None:
    reply = AnswerPolicy().decide([_hit("a", 0.12), _hit("b", 0.05)])
    assert reply.decision == DECLINE
    assert reply.suggestions == ()
    assert AnswerPolicy().decide([]).decision == DECLINE
    assert AnswerPolicy().decide([]).confidence == 0.0


def test_at_most_max_suggestions() -> None:
    hits = [_hit(x, 0.5 - i * 0.01) for i, x in enumerate("abcdef")]
    reply = AnswerPolicy(PolicyThresholds(max_suggestions=3)).decide(hits)
    assert reply.decision == SUGGEST
    assert len(reply.suggestions) == 3


def test_confidence_needs_both_score_and_margin() -> None:
    assert confidence([]) == 0.0
    high_tied = confidence([_hit("a", 0.9), _hit("b", 0.9)])
    low_alone = confidence([_hit("a", 0.1)])
    clear = confidence([_hit("a", 0.9), _hit("b", 0.1)])
    assert high_tied == 0.0
    assert clear > low_alone
    assert 0.0 <= clear <= 1.0


def test_thresholds_are_validated() -> None:
    with pytest.raises(ValueError):
        PolicyThresholds(answer=1.5)
    with pytest.raises(ValueError):
        PolicyThresholds(max_suggestions=0)


def test_snippet_is_plain_text_and_short() -> None:
    long_body = "**Bold** start. " + "More words here. " * 40
    text = snippet(Article("a", "T", long_body))
    assert text is not None and text.startswith("Bold start.")
    assert "**" not in text and len(text) <= 161
    assert snippet(Article("a", "T", "")) is None


def test_demo_answers_suggests_and_declines(demo_kb: KnowledgeBase) -> None:
    answered = demo_kb.answer("how do i retrun my jacket")
    assert answered.decision == ANSWER
    assert answered.suggestions[0].article_id == "returns"
    assert answered.text is not None and "60 days" in answered.text
    assert answered.suggestions[0].url is not None

    ambiguous = demo_kb.answer("where is my package")
    assert ambiguous.decision in (SUGGEST, ANSWER)
    assert {"order-tracking", "late-or-lost-package"} & {
        s.article_id for s in ambiguous.suggestions
    }

    for off_topic in ("what's the weather in Paris tomorrow", "who won the super bowl"):
        assert demo_kb.answer(off_topic).decision == DECLINE


def test_explicit_thresholds_skip_calibration() -> None:
    kb = KnowledgeBase(
        [Article("a", "Store hours", "", ("when are you open",))],
        thresholds=PolicyThresholds(answer=0.99),
    )
    assert kb.calibration is None
    assert kb.answer("when are you open").decision == SUGGEST
