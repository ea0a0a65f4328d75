"""Hostile and odd input: the bot stays up, stays fast enough, and says something sensible."""

from __future__ import annotations

import pytest

from knowledge_base import Article, KnowledgeBase, KnowledgeBaseAnswerer, SearchIndex
from knowledge_base.policy import ANSWER, DECLINE

ODD_QUERIES = [
    "",
    " ",
    "\n\t\r\n   ",
    "😀🙏🔥",
    "?!?!...",
    "\x00\x01\x02",
    "Как вернуть куртку? 退货 επιστροφή",
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "'; DROP TABLE articles; --",
    "a" * 100_000,
    "return " * 15_000,
    "\u202e\u200b\ufeff",
    "".join(chr(ord(c) + 0xFEE0) for c in "REFUND"),  # full-width letters
]


@pytest.mark.parametrize("query", ODD_QUERIES, ids=lambda q: repr(q[:20]))
def test_odd_queries_never_raise(demo_kb: KnowledgeBase, query: str) -> None:
    hits = demo_kb.search(query, 3)
    assert len(hits) <= 3
    reply = demo_kb.answer(query)
    assert reply.decision in ("answer", "suggest", "decline")
    assert 0.0 <= reply.confidence <= 1.0


@pytest.mark.parametrize("query", ["", "   ", "😀😀", "<script></script>", "\x00"])
def test_contentless_queries_are_declined(demo_kb: KnowledgeBase, query: str) -> None:
    reply = demo_kb.answer(query)
    assert reply.decision == DECLINE
    assert reply.confidence == 0.0


def test_script_tags_in_a_query_are_ignored_not_matched(demo_kb: KnowledgeBase) -> None:
    plain = demo_kb.search("how do I reset my password", 1)[0]
    dirty = demo_kb.search("<script>document.cookie</script> how do I reset my password", 1)[0]
    assert dirty.article_id == plain.article_id == "password-reset"


def test_huge_query_still_finds_its_topic(demo_kb: KnowledgeBase) -> None:
    query = "I forgot my password " + "please help " * 10_000
    assert demo_kb.search(query, 1)[0].article_id == "password-reset"


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c != " " else c for c in text)


def test_full_width_and_accented_text_is_folded(demo_kb: KnowledgeBase) -> None:
    assert demo_kb.search(_full_width("GIFT CARD") + " balance", 1)[0].article_id == "gift-cards"
    assert demo_kb.search("gíft cárd bálance", 1)[0].article_id == "gift-cards"


def test_hostile_article_bodies_are_indexed_safely() -> None:
    nasty = Article(
        "nasty",
        "<b>Kayak</b> rental 🛶",
        "<script>var kayak = 'steal cookies';</script>Rent a kayak for $40 a day. " + "x" * 200_000,
        ("can I rent a kayak?", "   ", "<iframe src=evil></iframe>"),
    )
    empty = Article("empty", "   ", "", ())
    other = Article("other", "Tent rental", "Tents for $20 a day.", ("can I rent a tent",))
    index = SearchIndex([nasty, empty, other])
    assert index.search("rent a kayak")[0].article_id == "nasty"
    assert all(h.article_id != "nasty" for h in index.search("steal cookies"))
    assert index.search("cookies") == [] or index.search("cookies")[0].score < 0.2
    index.remove("empty")
    index.update(nasty)
    assert index.search("kayak")[0].article_id == "nasty"


def test_mixed_script_articles_are_searchable() -> None:
    index = SearchIndex(
        [
            Article(
                "ru",
                "Возврат товара",
                "Вы можете вернуть товар в течение 60 дней.",
                ("как вернуть куртку",),
            ),
            Article("el", "Επιστροφές", "Επιστροφή χρημάτων σε 3 ημέρες.", ("πώς κάνω επιστροφή",)),
            Article("en", "Returns", "Return within 60 days.", ("how do I return a jacket",)),
        ]
    )
    assert index.search("Как вернуть куртку?")[0].article_id == "ru"
    assert index.search("πως κανω επιστροφη")[0].article_id == "el"  # accents folded
    assert index.search("return jacket")[0].article_id == "en"


async def test_answerer_survives_odd_input_concurrently(demo_kb: KnowledgeBase) -> None:
    import asyncio

    answerer = KnowledgeBaseAnswerer(demo_kb)
    replies = await asyncio.gather(*(answerer.answer(q) for q in ODD_QUERIES))
    assert len(replies) == len(ODD_QUERIES)
    assert all(r.decision != ANSWER or r.text for r in replies)
