"""The HTML-to-text converter used for HTML-only mail."""

from __future__ import annotations

from channels.email.html_text import html_to_text


def test_structure() -> None:
    html = (
        "<h1>Title</h1><p>First <i>para</i>.</p><p>Second<br/>line</p>"
        "<ol><li>one</li><li>two</li></ol><ul><li>a<ul><li>nested</li></ul></li></ul>"
        "<table><tr><td>Qty</td><td>2</td></tr><tr><td>Total</td><td>€5</td></tr></table>"
        "<pre>  code\n    indented</pre><hr>"
    )
    text = html_to_text(html)
    assert text.startswith("Title\n\nFirst para.\n\nSecond\nline")
    assert "1. one\n2. two" in text
    assert "- a\n  - nested" in text
    assert "Qty 2\nTotal €5" in text
    assert "  code\n    indented" in text


def test_links() -> None:
    text = html_to_text(
        '<a href="https://a.example/x">click here</a> '
        '<a href="https://b.example">https://b.example</a> '
        '<a href="mailto:bob@example.org">bob@example.org</a> '
        '<a href="javascript:alert(1)">js</a> <a href="#top">top</a>'
    )
    assert text == "click here (https://a.example/x) https://b.example bob@example.org js top"


def test_dropped_elements_and_entities() -> None:
    html = (
        "<head><title>T</title><style>.x{}</style></head><script>var a = '<p>';</script>"
        "<noscript>enable js</noscript><p>Caf&eacute; &amp; &lt;tea&gt;&nbsp;time</p>"
    )
    assert html_to_text(html) == "Café & <tea> time"


def test_blockquote_becomes_quote_lines() -> None:
    text = html_to_text("<p>Answer</p><blockquote><p>Question?</p><p>More</p></blockquote>")
    assert text == "Answer\n\n> Question?\n>\n> More"


def test_broken_html_does_not_raise() -> None:
    for html in ["<p><b>unclosed", "</div></div>text", "<<<>>>", "<a href=", "<!--", ""]:
        assert isinstance(html_to_text(html), str)
