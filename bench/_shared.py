"""What the web chat benchmarks share: the visitors' questions and the instant answerer."""

from __future__ import annotations

from typing import Any

#: Each one answered by the demo knowledge base with confidence.
QUESTIONS = (
    "How do I reset my password?",
    "How long does delivery take?",
    "How do I return my jacket?",
    "Where is my refund?",
    "How do I cancel my order?",
    "Can I pay with PayPal?",
    "What are your opening hours?",
    "How do I track my package?",
)


class InstantAnswerer:
    """``--stub-answerer``: a confident answer at once, to isolate the core's cost
    from the knowledge base's (the same reply shape as a real answer)."""

    async def answer(self, question: str) -> Any:
        from contactcenter.answerer import Answer, Suggestion

        return Answer(
            decision="answer",
            confidence=0.9,
            text="Open Settings, then Security, then Reset password.",
            suggestions=(
                Suggestion(
                    article_id="kb-1",
                    title="Reset",
                    score=0.9,
                    url="https://help.example.com/reset",
                ),
            ),
        )
