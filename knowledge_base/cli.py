"""``contactcenter kb import|export|evaluate|gaps``: the operator's knowledge-base tools.

Registered through the ``contactcenter.commands`` entry point. The commands
work on the server's database (found as the core finds it: ``--data-dir``,
``--config``, ``CONTACTCENTER_DATABASE_URL``) but do not migrate it: that is
``contactcenter migrate``'s job, and a command that silently created tables in
a database it found by accident would hide a wrong ``--data-dir``.

A running server reads articles at start; after an import, restart it or call
``POST /api/v1/kb/reload``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.engine import make_url

from knowledge_base.articles import Article
from knowledge_base.exporters import FORMATS, export_articles
from knowledge_base.gaps import find_gaps
from knowledge_base.importers import load_articles
from knowledge_base.kb import KnowledgeBase
from knowledge_base.storage.engine import (
    DatabaseConfigError,
    StandaloneDatabase,
    database_location,
)
from knowledge_base.storage.store import ArticleStore

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """Stops a command with a message for the operator and an exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def register(subparsers: Any, common: argparse.ArgumentParser | None = None) -> None:
    parents = [common] if common is not None else []
    kb = subparsers.add_parser("kb", help="knowledge base: import, export, evaluate, gaps")
    commands = kb.add_subparsers(dest="kb_command", required=True)

    imp = commands.add_parser(
        "import",
        parents=parents,
        help="import articles (JSONL, CSV, or a folder of Markdown files) into the database",
    )
    imp.add_argument("path", type=Path)
    imp.add_argument(
        "--partial", action="store_true", help="import the good entries even if some are bad"
    )
    imp.set_defaults(func=cmd_import)

    exp = commands.add_parser("export", parents=parents, help="export the database's articles")
    exp.add_argument("path", nargs="?", default="-", help="output file (default: stdout)")
    exp.add_argument("--format", choices=FORMATS, default="jsonl")
    exp.set_defaults(func=cmd_export)

    ev = commands.add_parser(
        "evaluate", parents=parents, help="measure the answer policy on labelled queries"
    )
    ev.add_argument("articles", type=Path, help="articles JSONL")
    ev.add_argument("queries", type=Path, help='queries JSONL: {"text": ..., "expected": id|null}')
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=cmd_evaluate)

    gaps = commands.add_parser(
        "gaps", parents=parents, help="what to write next: questions the bot could not settle"
    )
    gaps.add_argument("--json", action="store_true", help="print one JSON object")
    gaps.add_argument("--limit", type=int, default=20)
    gaps.set_defaults(func=cmd_gaps)


# ---------------------------------------------------------------------- plumbing


def _open_database(args: argparse.Namespace) -> StandaloneDatabase:
    try:
        url, schema = database_location(
            getattr(args, "config", None), getattr(args, "data_dir", None)
        )
    except DatabaseConfigError as exc:
        raise CommandError(f"error: {exc}", EXIT_USAGE) from None
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).exists():
            raise CommandError(
                f"error: no database at {parsed.database}; run `contactcenter migrate` first "
                "(or give --data-dir / CONTACTCENTER_DATABASE_URL)"
            )
    return StandaloneDatabase(url, schema=schema)


def _with_store(args: argparse.Namespace, work: Callable[[ArticleStore], Awaitable[int]]) -> int:
    async def run() -> int:
        db = _open_database(args)
        try:
            store = ArticleStore(db)
            if not await store.tables_exist():
                raise CommandError(
                    "error: the database has no knowledge-base tables; "
                    "run `contactcenter migrate` first"
                )
            return await work(store)
        finally:
            await db.dispose()

    return _run(run)


def _run(run: Callable[[], Awaitable[int]]) -> int:
    try:
        return asyncio.run(run())  # type: ignore[arg-type]
    except CommandError as exc:
        print(str(exc), file=sys.stderr)
        return exc.code


class Progress:
    """ "done/total (pct%)" on one updating line on a terminal, a few lines in a log."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self._last_pct = -100

    def __call__(self, done: int, total: int) -> None:
        pct = 100 * done // total if total else 100
        final = done >= total
        if not self.tty and not final and pct - self._last_pct < 25:
            return
        self._last_pct = pct
        line = f"{self.label}: {done}/{total} ({pct}%)"
        self.stream.write(("\r" + line + ("\n" if final else "")) if self.tty else line + "\n")
        self.stream.flush()


# ---------------------------------------------------------------------- commands


def cmd_import(args: argparse.Namespace) -> int:
    path: Path = args.path
    if not path.exists():
        print(f"error: {path} does not exist", file=sys.stderr)
        return EXIT_USAGE
    print(f"reading {path} ...", file=sys.stderr)
    result = load_articles(path)
    for problem in result.problems:
        print(f"bad entry: {problem}", file=sys.stderr)
    if result.problems and not args.partial:
        print(
            f"error: {len(result.problems)} bad entr{'y' if len(result.problems) == 1 else 'ies'} "
            f"(lines {', '.join(str(n) for n in result.bad_lines[:20])}"
            f"{', ...' if len(result.problems) > 20 else ''}); nothing imported. "
            "Fix them, or use --partial to import the good ones.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if not result.articles:
        print("error: no articles found; nothing imported", file=sys.stderr)
        return EXIT_FAILED

    async def work(store: ArticleStore) -> int:
        counts = await store.import_articles(result.articles, progress=Progress("importing"))
        skipped = f", {len(result.problems)} bad entries skipped" if result.problems else ""
        print(
            f"imported {len(result.articles)} articles ({counts.created} new, "
            f"{counts.updated} updated{skipped}). A running server picks them up on restart "
            "or POST /api/v1/kb/reload."
        )
        return EXIT_OK

    return _with_store(args, work)


def _export_to_file(articles: list[Article], path: Path, fmt: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        export_articles(articles, out, fmt)


def cmd_export(args: argparse.Namespace) -> int:
    async def work(store: ArticleStore) -> int:
        articles = await store.articles()
        if args.path == "-":
            export_articles(articles, sys.stdout, args.format)
        else:
            await asyncio.to_thread(_export_to_file, articles, Path(args.path), args.format)
            print(f"exported {len(articles)} articles to {args.path}", file=sys.stderr)
        return EXIT_OK

    return _with_store(args, work)


def format_evaluation(report: dict[str, Any]) -> str:
    latency = f"p50 {report['latency_p50_ms']} ms, p95 {report['latency_p95_ms']} ms"
    rows = [
        (
            "queries",
            f"{report['total']} ({report['in_scope']} in scope, "
            f"{report['out_of_scope']} out of scope)",
        ),
        ("precision", f"{report['precision']:.3f} (correct answers / answered)"),
        ("deflection", f"{report['deflection']:.3f} (correct answers / in-scope queries)"),
        ("suggestion hit rate", f"{report['suggestion_hit_rate']:.3f}"),
        (
            "answered",
            f"{report['answered']} ({report['correct']} correct, "
            f"{report['out_of_scope_answered']} out of scope)",
        ),
        ("suggested", str(report["suggested"])),
        ("declined", str(report["declined"])),
        ("latency per query", latency),
        ("answer threshold", f"{report['answer_threshold']:.3f} (calibrated)"),
        ("articles", f"{report['articles']} ({report['article_problems']} bad entries)"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from knowledge_base.evaluate import evaluate

    for path in (args.articles, args.queries):
        if not path.exists():
            print(f"error: {path} does not exist", file=sys.stderr)
            return EXIT_USAGE
    print(f"building the knowledge base from {args.articles} ...", file=sys.stderr)
    report = evaluate(args.articles, args.queries, progress=Progress("evaluating"))
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        print(format_evaluation(report))
    return EXIT_OK


def format_gaps(gaps: list[dict[str, Any]], questions: int) -> str:
    if not gaps:
        return f"no knowledge gaps ({questions} unsettled questions recorded)"
    lines = [f"{len(gaps)} gaps from {questions} unsettled questions, biggest first:", ""]
    for rank, gap in enumerate(gaps, start=1):
        nearest = gap["nearest_article"]
        near = (
            f"nearest article: {nearest['id']} ({nearest['score']})"
            if nearest
            else "no close article"
        )
        lines.append(
            f"{rank:>3}. {gap['size']} question(s): {gap['declined']} declined, "
            f"{gap['not_helpful']} not helpful; {near}"
        )
        lines.extend(f"       - {example}" for example in gap["examples"])
    return "\n".join(lines)


def cmd_gaps(args: argparse.Namespace) -> int:
    async def work(store: ArticleStore) -> int:
        questions = await store.gap_questions()
        articles = await store.articles()
        kb = await asyncio.to_thread(KnowledgeBase, articles, calibrate=False)
        found = await asyncio.to_thread(find_gaps, questions, kb, limit=max(1, args.limit))
        gaps = [g.to_json() for g in found]
        if args.json:
            print(json.dumps({"questions": len(questions), "gaps": gaps}, ensure_ascii=False))
        else:
            print(format_gaps(gaps, len(questions)))
        return EXIT_OK

    return _with_store(args, work)
