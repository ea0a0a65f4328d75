"""Fixtures for the knowledge-base tests: the demo help centre, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base import KnowledgeBase
from knowledge_base.demo import demo_articles_path
from knowledge_base.importers import read_jsonl

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kb"


@pytest.fixture(scope="session")
def demo_kb() -> KnowledgeBase:
    """The Northwind Outfitters demo knowledge base, with its calibrated thresholds.

    Session-scoped because it is only read; tests that change articles build their own.
    """
    result = read_jsonl(demo_articles_path())
    assert result.ok, result.problems
    return KnowledgeBase(result.articles)
