"""Writing articles back out in the formats the importers read.

An export must round-trip: ``kb export`` then ``kb import`` of the result
gives the same articles, so a help centre can be moved, versioned in git or
edited in a spreadsheet and brought back.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

from knowledge_base.articles import Article
from knowledge_base.importers import CSV_LIST_SEPARATOR

FORMATS = ("jsonl", "csv")
CSV_COLUMNS = ("id", "title", "body", "questions", "tags", "published", "url")


def article_record(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "body": article.body,
        "questions": list(article.questions),
        "tags": list(article.tags),
        "published": article.published,
        "url": article.url,
    }


def export_articles(articles: Iterable[Article], out: TextIO, fmt: str = "jsonl") -> int:
    """Write ``articles`` to ``out``; returns how many were written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (use {', '.join(FORMATS)})")
    count = 0
    if fmt == "jsonl":
        for article in articles:
            out.write(json.dumps(article_record(article), ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for article in articles:
        writer.writerow(
            [
                article.id,
                article.title,
                article.body,
                CSV_LIST_SEPARATOR.join(article.questions),
                CSV_LIST_SEPARATOR.join(article.tags),
                "true" if article.published else "false",
                article.url or "",
            ]
        )
        count += 1
    return count
