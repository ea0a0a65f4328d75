"""Knowledge base: articles, search, and the answer-or-escalate policy.

A leaf package: it imports nothing from the contact-center core, which talks
to it through :class:`KnowledgeBaseAnswerer` (structurally an ``Answerer``).
Pure Python plus rapidfuzz.

Typical use::

    kb = KnowledgeBase.from_path("articles.jsonl")   # indexes and calibrates
    answerer = KnowledgeBaseAnswerer(kb)
    reply = await answerer.answer("how do i retrun my jacket")
    reply.decision, reply.confidence, reply.text, reply.suggestions
"""

from knowledge_base.answerer import KnowledgeBaseAnswerer
from knowledge_base.articles import Article
from knowledge_base.calibration import CalibrationReport, calibrate
from knowledge_base.importers import (
    ImportFailed,
    ImportProblem,
    ImportResult,
    load_articles,
    parse_csv,
    parse_jsonl,
    parse_markdown,
)
from knowledge_base.index import Hit, IndexConfig, SearchIndex
from knowledge_base.kb import KnowledgeBase
from knowledge_base.policy import AnswerPolicy, KBAnswer, KBSuggestion, PolicyThresholds

__all__ = [
    "AnswerPolicy",
    "Article",
    "CalibrationReport",
    "Hit",
    "ImportFailed",
    "ImportProblem",
    "ImportResult",
    "IndexConfig",
    "KBAnswer",
    "KBSuggestion",
    "KnowledgeBase",
    "KnowledgeBaseAnswerer",
    "PolicyThresholds",
    "SearchIndex",
    "calibrate",
    "load_articles",
    "parse_csv",
    "parse_jsonl",
    "parse_markdown",
]
