"""Benchmark of the knowledge-base search index at scale.

Generates N synthetic articles of about 30 words (fixed seed, so runs are
comparable), builds the index, then times queries made from the articles'
own phrasings with typos, dropped words and shuffles, plus unrelated queries.
Reports build time, memory (RSS growth; --tracemalloc for Python heap, which
slows the build), latency percentiles of ``SearchIndex.search`` and of the
full ``KnowledgeBase.answer`` (search + policy), and top-1 accuracy as a
sanity check that fast is not also wrong.

    .venv/bin/python bench/kb_search.py [--articles 100000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge_base.articles import Article
from knowledge_base.kb import KnowledgeBase
from knowledge_base.policy import PolicyThresholds

SEED = 20_240_611
FUNCTION_WORDS = "how do i can you my the a to is what where when why of for in on with it".split()
SYLLABLES = (
    "ka lo mer tin sa vel dor pra kin ul zo fen ta ri mon gal bre sto nu phe "
    "lar ves cor pli dan ost rek mi tur bal hen gro sil wam jo quo erd"
).split()


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Corpus:
    """Topic-structured synthetic articles: each draws most words from its topic's pool."""

    def __init__(self, n_articles: int, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        vocab = _vocabulary(rng, max(2_000, min(60_000, n_articles // 2)))
        rng.shuffle(vocab)
        self.vocab = vocab
        # Zipf-like global word choice: weight 1/rank.
        self.cum_weights: list[float] = []
        total = 0.0
        for rank in range(1, len(vocab) + 1):
            total += 1.0 / rank
            self.cum_weights.append(total)
        n_topics = max(50, n_articles // 100)
        self.topics = [rng.sample(vocab[: len(vocab) // 2 + 1000], 25) for _ in range(n_topics)]

    def _words(self, topic: list[str], n: int) -> list[str]:
        rng = self.rng
        out = []
        for _ in range(n):
            r = rng.random()
            if r < 0.5:
                out.append(rng.choice(topic))
            elif r < 0.8:
                out.append(rng.choices(self.vocab, cum_weights=self.cum_weights)[0])
            else:
                out.append(rng.choice(FUNCTION_WORDS))
        return out

    def article(self, i: int) -> Article:
        rng = self.rng
        topic = rng.choice(self.topics)
        title = " ".join(self._words(topic, rng.randint(3, 6))).capitalize()
        questions = tuple(
            " ".join(["how", "do", "i", *self._words(topic, rng.randint(3, 6))]) + "?"
            for _ in range(2)
        )
        body = " ".join(self._words(topic, rng.randint(8, 14))).capitalize() + "."
        return Article(f"a{i}", title, body, questions)

    def perturb(self, text: str) -> str:
        """A customer's version of a phrasing: a typo, a dropped or swapped word."""
        rng = self.rng
        words = text.rstrip("?").split()
        if len(words) > 3 and rng.random() < 0.5:
            del words[rng.randrange(len(words))]
        if rng.random() < 0.5:
            j = rng.randrange(len(words))
            w = words[j]
            if len(w) > 4:
                k = rng.randrange(1, len(w) - 2)
                words[j] = w[:k] + w[k + 1] + w[k] + w[k + 2 :]
        if len(words) > 2 and rng.random() < 0.3:
            j = rng.randrange(len(words) - 1)
            words[j], words[j + 1] = words[j + 1], words[j]
        return " ".join(words)

    def unrelated(self) -> str:
        rng = self.rng
        return " ".join(rng.choice(self.vocab) for _ in range(rng.randint(3, 8)))


def _rss_kib() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--tracemalloc", action="store_true", help="measure Python heap (slower)")
    parser.add_argument("--calibrate", action="store_true", help="also time the calibration")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() after the build, as a server would after loading (fewer GC pauses)",
    )
    args = parser.parse_args(argv)

    print(f"generating {args.articles:,} synthetic articles (seed {SEED}) ...", flush=True)
    corpus = Corpus(args.articles)
    articles = [corpus.article(i) for i in range(args.articles)]
    words = sum(len(f"{a.title} {a.body} {' '.join(a.questions)}".split()) for a in articles)
    print(f"  {words / len(articles):.1f} words per article on average", flush=True)

    gc.collect()
    if args.tracemalloc:
        tracemalloc.start()
    rss_before = _rss_kib()
    started = time.perf_counter()
    cpu_started = time.process_time()
    kb = KnowledgeBase(calibrate=False, thresholds=PolicyThresholds())
    step = max(1, len(articles) // 10)
    for i, article in enumerate(articles, start=1):
        kb.add(article)
        if i % step == 0:
            elapsed = time.perf_counter() - started
            print(f"  indexed {i:,} articles in {elapsed:.1f} s", flush=True)
    build = time.perf_counter() - started
    build_cpu = time.process_time() - cpu_started
    gc.collect()
    rss_after = _rss_kib()
    heap = tracemalloc.get_traced_memory()[0] if args.tracemalloc else 0
    if args.tracemalloc:
        tracemalloc.stop()
    print(
        f"build: {build:.1f} s wall ({build_cpu:.1f} s CPU) for {len(articles):,} articles",
        flush=True,
    )
    print(f"memory: RSS +{(rss_after - rss_before) / 1024:.0f} MiB", flush=True)
    if heap:
        print(f"memory: Python heap {heap / 2**20:.0f} MiB (tracemalloc)", flush=True)

    if args.gc_freeze:
        gc.freeze()
    if args.calibrate:
        t0 = time.perf_counter()
        report = kb.recalibrate()
        print(f"calibration: {time.perf_counter() - t0:.1f} s -> {report}", flush=True)

    queries: list[tuple[str, str | None]] = []
    for _ in range(args.queries):
        if corpus.rng.random() < 0.85:
            article = corpus.rng.choice(articles)
            text = corpus.rng.choice([article.title, *article.questions])
            queries.append((corpus.perturb(text), article.id))
        else:
            queries.append((corpus.unrelated(), None))

    for warm in queries[:50]:
        kb.search(warm[0], 10)
    # Latency is wall-clock time; on a busy machine compare the CPU figure too.
    search_ms: list[float] = []
    search_cpu_ms: list[float] = []
    answer_ms: list[float] = []
    top1 = in_scope = 0
    decisions: dict[str, int] = {}
    for n, (text, expected) in enumerate(queries, start=1):
        c0 = time.process_time()
        t0 = time.perf_counter()
        hits = kb.search(text, 10)
        t1 = time.perf_counter()
        search_cpu_ms.append((time.process_time() - c0) * 1000)
        reply = kb.answer(text)
        t2 = time.perf_counter()
        search_ms.append((t1 - t0) * 1000)
        answer_ms.append((t2 - t1) * 1000)
        decisions[reply.decision] = decisions.get(reply.decision, 0) + 1
        if expected is not None:
            in_scope += 1
            top1 += bool(hits) and hits[0].article_id == expected
        if n % max(1, len(queries) // 5) == 0:
            print(f"  {n:,}/{len(queries):,} queries", flush=True)
    for name, values in (
        ("search(limit=10)", search_ms),
        ("  (CPU time)", search_cpu_ms),
        ("answer()", answer_ms),
    ):
        print(
            f"{name:17s} p50 {_pct(values, 0.5):6.2f} ms  p95 {_pct(values, 0.95):6.2f} ms  "
            f"p99 {_pct(values, 0.99):6.2f} ms  max {max(values):6.2f} ms"
        )
    print(f"top-1 accuracy on perturbed phrasings: {top1 / max(1, in_scope):.3f}")
    print(f"decisions: {decisions}")
    print(f"load average during the run: {Path('/proc/loadavg').read_text().split()[:3]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
