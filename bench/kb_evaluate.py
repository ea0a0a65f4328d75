"""Answer-policy figures on a labelled data set (default: the CLINC150 dev split).

Builds the knowledge base from the articles file with default settings (the
answer threshold is calibrated on the articles' own questions, never on the
queries), runs every query through the policy and prints precision,
deflection, the answer/suggest/decline split and latencies.

    .venv/bin/python bench/kb_evaluate.py [--articles PATH] [--queries PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge_base.evaluate import evaluate  # noqa: E402

DEFAULT = ROOT / "tests" / "fixtures" / "kb" / "clinc150-dev"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=Path, default=DEFAULT / "articles.jsonl")
    parser.add_argument("--queries", type=Path, default=DEFAULT / "queries.jsonl")
    parser.add_argument("--json", action="store_true", help="print the raw result as JSON")
    args = parser.parse_args(argv)

    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 500 == 0 or done == total:
            print(f"  {done:,}/{total:,} queries", file=sys.stderr, flush=True)

    print(f"evaluating {args.articles} against {args.queries}", file=sys.stderr, flush=True)
    result = evaluate(args.articles, args.queries, progress=progress)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    r = result
    print(f"articles            {r['articles']} ({r['article_problems']} unreadable)")
    print(
        f"queries             {r['total']} ({r['in_scope']} in scope, "
        f"{r['out_of_scope']} out of scope)"
    )
    print(
        f"answer threshold    {r['answer_threshold']} (calibrated; estimated precision "
        f"{r['estimated_precision']}, deflection {r['estimated_deflection']})"
    )
    print(
        f"answered            {r['answered']} ({r['correct']} correct, "
        f"{r['out_of_scope_answered']} out of scope)"
    )
    print(f"suggested           {r['suggested']} (hit rate {r['suggestion_hit_rate']})")
    print(f"declined            {r['declined']}")
    print(f"precision           {r['precision']}")
    print(f"deflection          {r['deflection']}")
    print(f"latency per query   p50 {r['latency_p50_ms']} ms, p95 {r['latency_p95_ms']} ms")
    print(
        f"build + calibration {r['build_seconds']} s; total {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
