"""The async adapter the core plugs in, and the package's independence from the core."""

from __future__ import annotations

import ast
import asyncio
import threading
from pathlib import Path

import knowledge_base
from knowledge_base import KnowledgeBase, KnowledgeBaseAnswerer
from knowledge_base.demo import demo_articles_path


async def test_answer_runs_off_the_event_loop(demo_kb: KnowledgeBase) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = demo_kb.answer

    class Spy(KnowledgeBase):
        def answer(self, question: str):  # type: ignore[no-untyped-def]
            seen.append(threading.get_ident())
            return original(question)

    spy = Spy.__new__(Spy)
    spy.__dict__.update(demo_kb.__dict__)
    reply = await KnowledgeBaseAnswerer(spy).answer("how do i retrun my jacket")
    assert reply.decision == "answer"
    assert seen and seen[0] != loop_thread


async def test_reply_has_the_shape_the_core_expects(demo_kb: KnowledgeBase) -> None:
    answerer = KnowledgeBaseAnswerer(demo_kb)
    reply = await answerer.answer("Can I pay with PayPal?")
    assert reply.decision == "answer"
    assert isinstance(reply.confidence, float) and 0 < reply.confidence <= 1
    assert reply.text and "PayPal" in reply.text
    top = reply.suggestions[0]
    for attribute in ("article_id", "title", "score", "url", "snippet"):
        assert hasattr(top, attribute)
    suggest = await answerer.answer("where is my package")
    assert suggest.decision in ("suggest", "answer")
    assert 1 <= len(suggest.suggestions) <= 3
    declined = await answerer.answer("what is the capital of Australia")
    assert declined.decision == "decline" and declined.text is None


async def test_satisfies_the_core_answerer_protocol(demo_kb: KnowledgeBase) -> None:
    from contactcenter.answerer import Answerer, Decision

    answerer = KnowledgeBaseAnswerer(demo_kb)
    assert isinstance(answerer, Answerer)
    reply = await answerer.answer("how do i retrun my jacket")
    assert reply.decision == Decision.ANSWER


async def test_from_path_builds_a_working_answerer() -> None:
    answerer = await asyncio.to_thread(KnowledgeBaseAnswerer.from_path, demo_articles_path())
    reply = await answerer.answer("I forgot my password")
    assert reply.suggestions[0].article_id == "password-reset"


async def test_non_string_question_is_declined(demo_kb: KnowledgeBase) -> None:
    reply = await KnowledgeBaseAnswerer(demo_kb).answer(None)  # type: ignore[arg-type]
    assert reply.decision == "decline"


def test_knowledge_base_is_a_leaf_package() -> None:
    root = Path(knowledge_base.__file__).resolve().parent
    for source in root.rglob("*.py"):
        tree = ast.parse(source.read_text(), str(source))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in ("contactcenter", "channels"), (source, name)


def test_demo_knowledge_base_is_complete() -> None:
    kb = KnowledgeBase.from_path(demo_articles_path())
    articles = list(kb.index)
    assert 25 <= len(articles) <= 40
    for article in articles:
        assert 4 <= len(article.questions) <= 8, article.id
        sentences = article.body.count(". ") + 1
        assert 2 <= sentences <= 8, article.id
        assert article.url


async def test_a_decline_still_carries_candidates_for_the_agent(demo_kb: KnowledgeBase) -> None:
    """The core puts a decline's suggestions on the escalated conversation for the desk."""
    reply = await KnowledgeBaseAnswerer(demo_kb).answer("what is the capital of Australia")
    assert reply.decision == "decline" and reply.text is None
    assert 1 <= len(reply.suggestions) <= 3
    scores = [s.score for s in reply.suggestions]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    nothing = await KnowledgeBaseAnswerer(demo_kb).answer("😀😀")
    assert nothing.decision == "decline" and nothing.suggestions == ()
