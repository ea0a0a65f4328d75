"""Snippets and highlight offsets for search results."""

from __future__ import annotations

from knowledge_base.highlight import make_snippet


def _marked(snippet_text: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    return [snippet_text[a:b] for a, b in spans]


def test_stems_and_typos_are_highlighted() -> None:
    s = make_snippet(
        "You can **return** items. Returns are free; returning is easy.", "retrun items"
    )
    assert _marked(s.text, s.highlights) == ["return", "items", "Returns", "returning"]


def test_stop_words_are_not_highlighted() -> None:
    s = make_snippet("How do I reset my password", "how do I reset my password")
    assert _marked(s.text, s.highlights) == ["reset", "password"]


def test_window_moves_to_the_first_match() -> None:
    body = "Intro words. " * 40 + "The warranty covers two years." + " More." * 40
    s = make_snippet(body, "warranty", limit=120)
    assert len(s.text) <= 125
    assert s.text.startswith("… ") and s.text.endswith(" …")
    assert _marked(s.text, s.highlights) == ["warranty"]


def test_html_is_escaped_and_marked() -> None:
    s = make_snippet('Use <b>"returns"</b> &amp; more', "<script>x</script> returns")
    html = s.html()
    assert "<mark>returns</mark>" in html
    assert html == "Use &quot;<mark>returns</mark>&quot; &amp; more"  # tags dropped


def test_odd_queries_give_no_highlights() -> None:
    for query in ["", "   ", "😀", "\x00", "a" * 100_000]:
        s = make_snippet("Some body text", query)
        assert s.text == "Some body text"
        assert s.highlights == ()


def test_mixed_scripts() -> None:
    s = make_snippet("Возврат товара: 30 дней. Returns: 30 days.", "возврат returns")
    assert _marked(s.text, s.highlights) == ["Возврат", "Returns"]
