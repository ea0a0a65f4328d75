"""Grouping unsettled questions into knowledge gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from knowledge_base import KnowledgeBase
from knowledge_base.gaps import find_gaps
from knowledge_base.storage.store import GapQuestion

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def q(text: str, kind: str = "declined", minutes: int = 0) -> GapQuestion:
    return GapQuestion(kind, text, T0 + timedelta(minutes=minutes))


def test_similar_questions_form_one_ranked_gap(demo_kb: KnowledgeBase) -> None:
    questions = [
        q("Do you sell kayak paddles?"),
        q("do you sell paddles for kayaks", minutes=1),
        q("Do you sell kayak paddles?", minutes=2),
        q("kayak paddles sold?", "not_helpful", minutes=3),
        q("Can I bring my dog to the store?"),
        q("😀😀"),
        q("   "),
    ]
    gaps = find_gaps(questions, demo_kb)
    assert [g.size for g in gaps] == [4, 1]
    top = gaps[0]
    assert top.declined == 3 and top.not_helpful == 1
    assert top.examples()[0] == "Do you sell kayak paddles?"
    assert top.last_seen == T0 + timedelta(minutes=3)
    data = top.to_json()
    assert data["size"] == 4 and len(data["examples"]) <= 3
    assert data["nearest_article"] is None or {"id", "title", "score"} <= set(
        data["nearest_article"]
    )


def test_one_word_does_not_swallow_everything() -> None:
    gaps = find_gaps([q("jacket"), q("jacket zipper broken"), q("jacket colour fading in wash")])
    assert len(gaps) >= 2


def test_limit_and_empty() -> None:
    assert find_gaps([]) == []
    topics = "kayak tent stove lantern compass backpack hammock canoe boots gloves".split()
    many = [q(f"do you sell a {topic}") for topic in topics]
    assert len(find_gaps(many, limit=5)) == 5
