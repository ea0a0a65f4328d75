"""Reading a request for a person, and the answer to "did this help?", from the customer's words."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from contactcenter import escalation
from contactcenter.escalation import asks_for_human, feedback, fold

QUERIES = Path(__file__).parent.parent / "fixtures" / "kb" / "clinc150-dev" / "queries.jsonl"

ASKING = [
    "I want to talk to a human please",
    "can I speak to an agent?",
    "Speak with a real person",
    "put me through to someone",
    "get me a manager now",
    "HUMAN!!",
    "operator",
    "a live agent please",
    "Are you a bot?",
    "is there a real human here",
    "stop the bot",
    "I need to contact customer service",
    "escalate",
    "Ich möchte mit einem Mitarbeiter sprechen",
    "je veux parler à un conseiller",
    "quiero hablar con una persona",
    "vorrei parlare con un operatore",
    "ik wil een medewerker",
    "quero falar com um atendente",
]
NOT_ASKING = [
    "my agent number is wrong",
    "How do I reset my password?",
    "where is my refund",
    "the person who delivered it was rude",
    "thanks, that helped",
    "",
]


@pytest.mark.parametrize("text", ASKING)
def test_a_request_for_a_person_is_recognised(text: str) -> None:
    assert asks_for_human(text)


@pytest.mark.parametrize("text", NOT_ASKING)
def test_an_ordinary_message_is_not_a_request_for_a_person(text: str) -> None:
    assert not asks_for_human(text)


def _full_search(text: str) -> bool:
    return escalation._ANY_PATTERN.search(fold(text)) is not None


def test_the_quick_word_check_never_changes_the_answer() -> None:
    """Messages without any of the words every pattern needs skip the search: on
    3,100 real queries, the phrasings above and thousands of mixtures of their words,
    the answer is the search's own."""
    texts = [json.loads(line)["text"] for line in QUERIES.read_text().splitlines() if line]
    texts += ASKING + NOT_ASKING
    words = " ".join(texts[:400] + ASKING * 5).split()
    rng = random.Random(20261123)
    texts += [" ".join(rng.choices(words, k=rng.randint(1, 9))) for _ in range(5_000)]
    disagree = [t for t in texts if asks_for_human(t) != _full_search(t)]
    assert disagree == []
    assert sum(map(_full_search, texts)) > 100  # the mixtures did ask for people


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Yes!", True),
        ("yes, thank you", True),
        ("Nope.", False),
        ("It didn't help.", False),
        ("that did not help", False),
        ("No it did not", False),
        ("How long does delivery take?", None),
    ],
)
def test_the_answer_to_did_this_help(text: str, verdict: bool | None) -> None:
    assert feedback(text) is verdict
