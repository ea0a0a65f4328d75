"""Evaluation on the CLINC150 dev split: the bot must be right when it answers.

The knowledge base is built from the articles (10 phrasings per intent) with
default settings; the 3,100 queries (100 of them out of scope) are only used
to score. Figures measured when this test was written: precision 0.942,
deflection 0.558 (1,778 answered, 881 suggested, 441 declined); the floors
leave room for harmless changes, not for regressions a customer would notice.
"""

from __future__ import annotations

import json
from pathlib import Path

from knowledge_base.evaluate import evaluate, read_queries

from .conftest import FIXTURES

DEV = FIXTURES / "clinc150-dev"


def test_dev_set_precision_and_deflection() -> None:
    calls: list[tuple[int, int]] = []
    report = evaluate(
        DEV / "articles.jsonl", DEV / "queries.jsonl", progress=lambda d, t: calls.append((d, t))
    )
    assert report["total"] == 3_100
    assert report["answered"] + report["suggested"] + report["declined"] == report["total"]
    assert report["precision"] >= 0.90
    assert report["deflection"] >= 0.50
    assert report["suggestion_hit_rate"] >= 0.6
    assert report["out_of_scope_answered"] <= 20
    assert report["latency_p50_ms"] > 0 and report["latency_p95_ms"] >= report["latency_p50_ms"]
    assert calls and calls[-1] == (3_100, 3_100)


def test_evaluate_tolerates_bad_lines(tmp_path: Path) -> None:
    articles = tmp_path / "a.jsonl"
    articles.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "id": "hours",
                        "title": "Store hours",
                        "body": "",
                        "questions": ["when are you open", "opening times"],
                    }
                ),
                "{broken",
                json.dumps(
                    {
                        "id": "ret",
                        "title": "Returns",
                        "body": "",
                        "questions": ["how do I return", "send it back"],
                    }
                ),
            ]
        )
    )
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"text": "when do you open", "expected": "hours"}\nnot json\n'
        '{"text": "who is the president", "expected": null}\n{"expected": "x"}\n'
    )
    parsed, bad = read_queries(queries)
    assert len(parsed) == 2 and bad == [2, 4]
    report = evaluate(articles, queries)
    assert report["articles"] == 2 and report["article_problems"] == 1
    assert report["total"] == 2 and report["in_scope"] == 1
    assert report["out_of_scope_answered"] == 0
