"""The help centre's Markdown renderer: the usual formatting, and nothing executable."""

from __future__ import annotations

import pytest

from knowledge_base.markdown import plain_text, render, safe_url


def test_blocks_and_inline_formatting() -> None:
    html = render(
        "## Returns\n\nFirst line\nsecond line\n\n- one *a*\n- two __b__\n\n"
        "1. first\n2. second\n\n> quoted\n\n```\n<tag> & **not bold**\n```\n\n---\n"
        "Use `code` and **bold** and _it_."
    )
    assert "<h2>Returns</h2>" in html
    assert "<p>First line<br>\nsecond line</p>" in html
    assert "<ul><li>one <em>a</em></li><li>two <strong>b</strong></li></ul>" in html
    assert "<ol><li>first</li><li>second</li></ol>" in html
    assert "<blockquote><p>quoted</p></blockquote>" in html
    assert "<pre><code>&lt;tag&gt; &amp; **not bold**</code></pre>" in html
    assert "<hr>" in html
    assert "<code>code</code> and <strong>bold</strong> and <em>it</em>" in html


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/x?a=1&b=2",
        "http://example.com",
        "mailto:help@example.com",
        "/help/x",
        "#top",
        "returns",
        "?q=1",
    ],
)
def test_safe_links(url: str) -> None:
    assert safe_url(url) == url
    assert 'href="' in render(f"[go]({url})")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        "file:///etc",
        "java\tscript:x",
        "\\\\evil.example",
        "x:y",
    ],
)
def test_unsafe_links_stay_text(url: str) -> None:
    assert safe_url(url) is None
    assert "<a " not in render(f"[go]({url})")


def test_entities_cannot_smuggle_a_scheme() -> None:
    html = render("[go](javascript&#58;alert(1)) [b](&#106;avascript:alert(1))")
    assert "<a " not in html or 'href="javascript' not in html.lower()


def test_quotes_in_a_link_cannot_break_out_of_the_attribute() -> None:
    html = render('[q](https://x.example/"onmouseover="x)')
    assert 'href="https://x.example/&quot;onmouseover=&quot;x"' in html
    assert ' onmouseover="' not in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href='javascript:x'>a</a>",
        "<iframe src=//evil>",
        "<svg onload=alert(1)>",
        "\x00<script>",
    ],
)
def test_raw_html_is_shown_as_text(source: str) -> None:
    html = render(source)
    assert "<" not in html.replace("<p>", "").replace("</p>", "")


def test_total_on_odd_input() -> None:
    for source in [
        "",
        "   ",
        "*",
        "**",
        "[",
        "](",
        "```",
        "> ",
        "#",
        "- ",
        "😀" * 1000,
        "x" * 300_000,
    ]:
        assert isinstance(render(source), str)


def test_plain_text_for_snippets() -> None:
    assert plain_text("## Title\n\n**Bold** [link](https://x.example) `c`") == "Title Bold link c"
