"""A small demo knowledge base: the help centre of the fictional "Northwind Outfitters".

It is written for trying the bot out and for tests: about thirty articles on
shipping, returns, payments, accounts and stores, each with several phrasings.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def demo_articles_path() -> Path:
    """Path of the demo knowledge base (JSONL, one article per line)."""
    return _HERE / "articles.jsonl"
