"""The adapter the contact-center core plugs in.

The core only knows a structural ``Answerer`` protocol (an object with an
``async answer(question)``); this package must not import the core. Searching
is CPU-bound pure Python, so it runs in a worker thread to keep the event loop
serving other conversations meanwhile.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from knowledge_base.kb import KnowledgeBase
from knowledge_base.policy import KBAnswer


class KnowledgeBaseAnswerer:
    """Answers customer messages from a :class:`KnowledgeBase` without blocking the loop."""

    def __init__(self, knowledge_base: KnowledgeBase) -> None:
        self.knowledge_base = knowledge_base

    @classmethod
    def from_path(cls, path: str | Path) -> KnowledgeBaseAnswerer:
        """Build from a JSONL/CSV file or a Markdown folder (blocking: call at start-up)."""
        return cls(KnowledgeBase.from_path(path))

    async def answer(self, question: str) -> KBAnswer:
        """Answer, suggest or decline ``question`` (any text, any length; never raises on it)."""
        if not isinstance(question, str):
            question = "" if question is None else str(question)
        return await asyncio.to_thread(self.knowledge_base.answer, question)
