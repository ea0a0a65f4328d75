"""Measuring the answer policy on labelled questions.

What matters to a contact centre is not "is the top hit right" but the
trade-off the policy makes: how many questions the bot settles on its own
(*deflection*) and how often what it says is right (*precision*). A query
whose ``expected`` is null is out of scope: answering it at all is wrong.

Definitions (as in the CLINC150 data set's SOURCE.txt):

* precision  = correct answers / answered (out-of-scope answers are wrong)
* deflection = correct answers / in-scope queries
* suggestions and declines are not answers.

The knowledge base is built from the articles file only, with default
settings (so its threshold is calibrated on the articles' own questions);
the queries are never used to build or tune anything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from knowledge_base.importers import read_jsonl
from knowledge_base.index import IndexConfig
from knowledge_base.kb import KnowledgeBase
from knowledge_base.policy import ANSWER, SUGGEST, PolicyThresholds

Progress = Callable[[int, int], None]


def read_queries(path: str | Path) -> tuple[list[tuple[str, str | None]], list[int]]:
    """Labelled queries ``{"text", "expected"}`` and the line numbers that were unusable."""
    queries: list[tuple[str, str | None]] = []
    bad: list[int] = []
    text = Path(path).read_bytes().decode("utf-8-sig", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad.append(number)
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            bad.append(number)
            continue
        expected = record.get("expected")
        queries.append((record["text"], expected if isinstance(expected, str) else None))
    return queries, bad


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    position = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[position]


def evaluate(
    articles_path: str | Path,
    queries_path: str | Path,
    *,
    progress: Progress | None = None,
    thresholds: PolicyThresholds | None = None,
    index_config: IndexConfig | None = None,
) -> dict[str, float | int]:
    """Build a knowledge base from ``articles_path`` and run the policy on every query.

    ``progress(done, total)`` is called every 100 queries and at the end.
    Returns counts, precision, deflection, suggestion hit rate, latencies
    (milliseconds) and the threshold the calibration chose.
    """
    imported = read_jsonl(articles_path)
    queries, bad_queries = read_queries(queries_path)
    started = time.perf_counter()
    kb = KnowledgeBase(imported.articles, thresholds=thresholds, index_config=index_config)
    build_seconds = time.perf_counter() - started

    answered = suggested = declined = correct = wrong_out_of_scope = 0
    suggestion_hits = 0
    latencies: list[float] = []
    total = len(queries)
    for done, (text, expected) in enumerate(queries, start=1):
        t0 = time.perf_counter()
        reply = kb.answer(text)
        latencies.append((time.perf_counter() - t0) * 1000.0)
        offered = [s.article_id for s in reply.suggestions]
        if reply.decision == ANSWER:
            answered += 1
            if expected is not None and offered[:1] == [expected]:
                correct += 1
            elif expected is None:
                wrong_out_of_scope += 1
        elif reply.decision == SUGGEST:
            suggested += 1
            suggestion_hits += expected is not None and expected in offered
        else:
            declined += 1
        if progress is not None and (done % 100 == 0 or done == total):
            progress(done, total)

    in_scope = sum(1 for _, expected in queries if expected is not None)
    latencies.sort()
    calibration = kb.calibration
    return {
        "total": total,
        "in_scope": in_scope,
        "out_of_scope": total - in_scope,
        "answered": answered,
        "suggested": suggested,
        "declined": declined,
        "correct": correct,
        "out_of_scope_answered": wrong_out_of_scope,
        "precision": round(correct / answered, 4) if answered else 0.0,
        "deflection": round(correct / in_scope, 4) if in_scope else 0.0,
        "suggestion_hit_rate": round(suggestion_hits / suggested, 4) if suggested else 0.0,
        "latency_p50_ms": round(_percentile(latencies, 0.50), 3),
        "latency_p95_ms": round(_percentile(latencies, 0.95), 3),
        "build_seconds": round(build_seconds, 3),
        "articles": len(imported.articles),
        "article_problems": len(imported.problems),
        "query_problems": len(bad_queries),
        "answer_threshold": kb.thresholds.answer,
        "estimated_precision": calibration.estimated_precision if calibration else 0.0,
        "estimated_deflection": calibration.estimated_deflection if calibration else 0.0,
    }
