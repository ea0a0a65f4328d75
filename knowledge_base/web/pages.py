"""The help centre's HTML, rendered on the server with no JavaScript.

Every value that comes from an article, a query or a URL passes through
:func:`html.escape` (attributes and text alike) or through the safe Markdown
renderer; snippets arrive pre-escaped with ``<mark>`` from
:mod:`knowledge_base.highlight`. That is the whole defence against script
injection, so this module builds strings only from those pieces.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from urllib.parse import quote, urlencode

from knowledge_base.markdown import render
from knowledge_base.storage.store import StoredArticle
from knowledge_base.web.search import SearchResult

CSS_PATH = "/help/help.css"


def _e(value: str) -> str:
    return escape(value, quote=True)


def article_path(article_id: str, query: str | None = None) -> str:
    path = "/help/articles/" + quote(article_id, safe="")
    return path + ("?" + urlencode({"q": query}) if query else "")


def layout(site: str, title: str, content: str, query: str = "") -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} · {_e(site)}</title>
<link rel="stylesheet" href="{CSS_PATH}">
</head>
<body>
<header>
<a class="home" href="/help">{_e(site)}</a>
<form class="search" method="get" action="/help" role="search">
<input type="search" name="q" value="{_e(query)}" placeholder="Search for answers"
 aria-label="Search the help center" maxlength="500">
<button type="submit">Search</button>
</form>
</header>
<main>
{content}
</main>
</body>
</html>
"""


def results_page(site: str, query: str, results: Sequence[SearchResult]) -> str:
    if not results:
        body = (
            f'<div class="card"><h1>No articles match “{_e(query)}”</h1>'
            '<p class="muted">Try other words, or <a href="/chat">ask us</a>.</p></div>'
        )
        return layout(site, f"Search: {query}", body, query)
    items = "\n".join(
        f'<li><a href="{_e(article_path(r.article_id, query))}">{_e(r.title)}</a>'
        f"<p>{r.snippet.html()}</p></li>"
        for r in results
    )
    count = f"{len(results)} article{'s' if len(results) != 1 else ''}"
    body = (
        f'<div class="card"><h1>Results for “{_e(query)}”</h1>'
        f'<p class="muted">{count}</p><ol class="results">\n{items}\n</ol></div>'
    )
    return layout(site, f"Search: {query}", body, query)


def home_page(site: str, articles: Sequence[StoredArticle], message: str = "") -> str:
    items = "\n".join(
        f'<li><a href="{_e(article_path(a.article.id))}">{_e(a.article.title)}</a></li>'
        for a in articles
    )
    note = f'<p class="muted">{_e(message)}</p>' if message else ""
    listing = (
        f'<ol class="results">\n{items}\n</ol>'
        if items
        else '<p class="muted">No articles yet.</p>'
    )
    body = f'<div class="card"><h1>How can we help?</h1>{note}{listing}</div>'
    return layout(site, "Help center", body)


def article_page(site: str, stored: StoredArticle, query: str, thanks: str | None) -> str:
    article = stored.article
    tags = "".join(f"<span>{_e(t)}</span>" for t in article.tags)
    back = (
        f'<p><a class="back" href="/help?{_e(urlencode({"q": query}))}">← Back to results</a></p>'
        if query
        else ""
    )
    if thanks == "yes":
        feedback = '<p class="feedback">Thanks for your feedback!</p>'
    elif thanks == "no":
        feedback = (
            '<p class="feedback">Thanks for telling us. Sorry this did not help — '
            '<a href="/chat">ask us directly</a>.</p>'
        )
    else:
        action = _e(article_path(article.id) + "/feedback")
        feedback = (
            f'<form class="feedback" method="post" action="{action}">'
            "<p>Was this helpful?</p>"
            f'<input type="hidden" name="q" value="{_e(query)}">'
            '<button type="submit" name="helpful" value="yes">Yes</button>'
            '<button type="submit" name="helpful" value="no">No</button>'
            "</form>"
        )
    body = (
        f'{back}<article class="card"><h1>{_e(article.title)}</h1>'
        f"{render(article.body)}"
        f'<p class="tags">{tags}</p></article>'
        f'<div class="card">{feedback}</div>'
    )
    return layout(site, article.title, body, query)


def message_page(site: str, title: str, message: str) -> str:
    body = f'<div class="card"><h1>{_e(title)}</h1><p>{_e(message)}</p></div>'
    return layout(site, title, body)
