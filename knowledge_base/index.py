"""Search index: which articles best match a customer's message, and how well.

Two stages, because the accurate comparison is too slow to run against every
article and the fast one is too coarse to decide with:

1. **Candidates** — an inverted index over words with BM25 weights. Query
   words are read rarest first; very common ones are skipped once rarer ones
   have been read, and reading stops when a budget of postings is spent, so
   "how do i" costs nothing on a large index. Misspelt query words the index
   has never seen are first corrected against its vocabulary with rapidfuzz.
2. **Re-ranking** — for the few best candidate articles only, an IDF-weighted
   cosine over words, word bigrams *and* character 3-grams between the query
   and each of the article's short texts (title, questions), and the
   article's centroid. An article's score blends a vote of its best few texts
   (several matching phrasings are more evidence than one) with the centroid
   (the article as a whole, body included).

Scores are cosines, hence in 0..1 and comparable between queries, which is
what lets the policy put thresholds on them.

Updates are incremental: ``add``/``update``/``remove`` touch only the postings
and counts of one article. Removed articles leave tombstones that queries skip;
they are compacted away once they outnumber the live ones. Features are
interned as integers (word bigrams hashed into buckets), each article keeps
the feature ids of its texts, and IDF-dependent norms are computed on demand
and kept in a bounded LRU cache, so that the index never has to be rebuilt
when IDFs drift. A 100,000-article index takes about 250 MB and under a
minute to build (see bench/README.md).
"""

from __future__ import annotations

import heapq
import math
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from operator import mul

from rapidfuzz import fuzz, process

from knowledge_base.articles import Article
from knowledge_base.features import BIGRAM, WORD, char_grams, words
from knowledge_base.normalize import MAX_QUERY_CHARS

Features = frozenset[int]
#: Word bigrams are hashed into this many buckets (feature ids 0..BUCKETS-1) instead of
#: being interned: a large help centre has millions of distinct bigrams, mostly seen
#: once, and storing each as a string would dominate memory. Collisions only merge
#: the counts of unrelated rare bigrams, which barely moves their IDF.
BIGRAM_BUCKETS = 1 << 21
_BIGRAM_MULTIPLIER = 1_000_003

#: The IDF table is rebuilt once the number of texts has moved this much (relatively)
#: since it was built; in between, IDFs are at most this far off.
_IDF_TABLE_DRIFT = 0.01


#: Below this many scored articles, sorting them all (in C) is faster than
#: ``heapq.nlargest`` (a Python loop over them): 2.1 vs 8.3 µs for 31, equal near 500.
_SORT_ALL_BELOW = 400


def _largest(n: int, scores: dict[int, float]) -> list[int]:
    """The ``n`` keys with the highest scores, best first; ties in insertion order.

    The same list as ``heapq.nlargest(n, scores, key=scores.__getitem__)``: both
    keep equal keys in their original order.
    """
    if len(scores) < _SORT_ALL_BELOW:
        return sorted(scores, key=scores.__getitem__, reverse=True)[:n]
    return heapq.nlargest(n, scores, key=scores.__getitem__)


#: Indexes of at most this many articles (slots, removed ones included) keep their
#: words' BM25 contributions between questions: at most ~10 MB of pairs.
_CACHED_SLOTS = 2_000


def _bm25_idf(n: int, df: int) -> float:
    """BM25 IDF of a word in ``df`` of ``n`` articles."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def _bigram(first: int, second: int) -> int:
    """Bucket (feature id) of the bigram of two unigram feature ids; order matters."""
    return (first * _BIGRAM_MULTIPLIER + second) % BIGRAM_BUCKETS


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """Knobs of the index; the defaults are what the benchmarks and evaluation use."""

    #: Articles re-ranked per query. The policy needs the best two and the
    #: suggestions three; the rest is a safety net for a coarse first stage.
    candidates: int = 10
    #: ... of which only those scoring at least this share of the best first-stage
    #: score, but always ``min_candidates``: most queries have one clear group of
    #: contenders, and re-ranking is the expensive part of a query.
    candidate_ratio: float = 0.5
    min_candidates: int = 4
    #: Postings read per query in the first stage, rarest terms first.
    posting_budget: int = 12_000
    #: Terms in more than this share of articles (and in more than
    #: ``common_floor`` of them) are skipped once a rarer term has been read.
    common_ratio: float = 0.05
    common_floor: int = 2_000
    #: Share of the article centroid in an article's score; the rest is the
    #: weighted vote of its best-matching texts.
    centroid_weight: float = 0.7
    #: Weights of an article's best, second and third matching texts.
    neighbour_weights: tuple[float, ...] = (1.0, 0.5, 0.25)
    #: Weight of the body in the article centroid (titles and questions count 1):
    #: bodies are long and written for reading, not for matching questions.
    body_weight: float = 0.5
    #: Words shorter than this are never "corrected": too many neighbours.
    typo_min_length: int = 4
    #: rapidfuzz ratio (0..100) a vocabulary word needs to replace an unknown one.
    typo_min_similarity: float = 80.0
    #: Unknown words corrected per query; a message full of unknown words is
    #: about something else, not misspelt.
    max_typo_corrections: int = 2
    #: Articles whose re-ranking vectors are kept between queries.
    vector_cache_size: int = 4_000
    bm25_k1: float = 1.2
    bm25_b: float = 0.75


@dataclass(frozen=True, slots=True)
class Hit:
    """One article found for a query; :meth:`SearchIndex.search` returns them best first."""

    article: Article
    #: Combined similarity in 0..1 (cosine-based), comparable across queries.
    score: float
    #: The title or question of the article that matched the query best.
    matched: str

    @property
    def article_id(self) -> str:
        return self.article.id

    @property
    def title(self) -> str:
        return self.article.title

    @property
    def url(self) -> str | None:
        return self.article.url


@dataclass(slots=True)
class _ArticleVectors:
    """What re-ranking needs of one article, valid for the text count it was built at.

    Texts are feature *sets*: weights are binary TF times IDF (repeating a
    word in a question is not more evidence), so every dot product is a sum
    of squared IDFs over a set intersection, done by C-level set and map
    operations. The centroid is never built: by linearity its dot product with
    the query is the weighted sum of the texts' cosines, and its norm follows
    from the texts' pairwise cosines.
    """

    texts: list[Features]
    norms: list[float]
    body: Features
    body_norm: float
    centroid_norm: float
    #: Pairwise cosines of the texts (body last), for leaving one text out.
    pair_cosines: dict[tuple[int, int], float]
    built_at_texts: int


@dataclass(frozen=True, slots=True)
class _Query:
    features: Features  # known features (df > 0)
    norm: float  # over all features, unseen ones included
    #: Each known feature's squared IDF, looked up once per query rather than once
    #: per text it is compared with (re-ranking compares it with every text).
    weights: dict[int, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Postings:
    slots: array[int] = field(default_factory=lambda: array("I"))
    impacts: array[float] = field(default_factory=lambda: array("f"))


class SearchIndex:
    """An incrementally updatable article index; thread-safe (one lock, short sections)."""

    def __init__(self, articles: Iterable[Article] = (), config: IndexConfig | None = None) -> None:
        self.config = config or IndexConfig()
        self._weights_sum = sum(self.config.neighbour_weights)
        self._lock = threading.RLock()
        self._articles: dict[str, Article] = {}
        self._slot_of: dict[str, int] = {}
        self._slots: list[Article | None] = []
        # Per slot: the feature ids of each title/question and of the body.
        # ~1 KB an article; it spares re-ranking a re-tokenisation of every candidate.
        self._slot_features: list[tuple[array[int], ...] | None] = []
        self._dead = 0
        self._feature_ids: dict[str, int] = {}
        # The int object of each interned feature id (id - BIGRAM_BUCKETS), see _feature_set.
        self._feature_objects: list[int] = []
        # Texts containing each feature: hashed bigram buckets first, then interned features.
        self._df = array("I", bytes(4 * BIGRAM_BUCKETS))
        # Squared IDF by document frequency, for the text count ``_idf_at``.
        self._idf2 = array("d")
        self._idf_at = -1
        self._n_texts = 0
        self._word_ids: dict[str, tuple[int, ...]] = {}  # word -> (unigram, *char grams)
        self._postings: dict[int, _Postings] = {}
        self._lengths = array("f")  # BM25 length of each slot
        self._total_length = 0.0
        # Vocabulary for typo correction, bucketed by (length, first two or last two
        # letters): a typo rarely hits both ends of a word, and small buckets keep
        # rapidfuzz fast on a large vocabulary.
        self._vocab_buckets: dict[tuple[int, str], list[str]] = {}
        self._vectors: OrderedDict[int, _ArticleVectors] = OrderedDict()
        # Small indexes only: each word's BM25 (slot, contribution) pairs, valid until
        # the index next changes (see _contributions).
        self._bm25_pairs: dict[int, tuple[tuple[int, float], ...]] = {}
        for article in articles:
            self.add(article)

    # ------------------------------------------------------------------ contents

    def __len__(self) -> int:
        """Number of searchable (published) articles."""
        return len(self._slot_of)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._articles

    def __iter__(self) -> Iterator[Article]:
        """All articles, published or not, in the order they were added."""
        with self._lock:
            return iter(list(self._articles.values()))

    def get(self, article_id: str) -> Article | None:
        return self._articles.get(article_id)

    # ------------------------------------------------------------------ updates

    def add(self, article: Article) -> None:
        """Index ``article``; an article with the same id is replaced.

        Unpublished articles are kept (``get`` finds them) but never searched.
        """
        with self._lock:
            if article.id in self._articles:
                self._unindex(article.id)
                del self._articles[article.id]
            self._articles[article.id] = article
            if article.published:
                self._index(article)

    def update(self, article: Article) -> None:
        """Replace the article with the same id (or add it): only its own terms are touched."""
        self.add(article)

    def remove(self, article: Article | str) -> bool:
        """Remove an article (or its id); returns whether it was there."""
        article_id = article if isinstance(article, str) else article.id
        with self._lock:
            if article_id not in self._articles:
                return False
            self._unindex(article_id)
            del self._articles[article_id]
            return True

    def _feature_id(self, feature: str) -> int:
        fid = self._feature_ids.get(feature)
        if fid is None:
            fid = BIGRAM_BUCKETS + len(self._feature_ids)
            self._feature_ids[feature] = fid
            self._feature_objects.append(fid)
            self._df.append(0)
        return fid

    def _word(self, word: str) -> tuple[int, ...]:
        """Feature ids of one indexed word: its unigram first, then its character grams."""
        ids = self._word_ids.get(word)
        if ids is None:
            ids = (self._feature_id(WORD + word), *map(self._feature_id, char_grams(word)))
            self._word_ids[word] = ids
            if word.isalpha() and len(word) >= self.config.typo_min_length - 1:
                buckets = self._vocab_buckets
                buckets.setdefault((len(word), word[:2]), []).append(word)
                if word[-2:] != word[:2]:
                    buckets.setdefault((len(word), word[-2:]), []).append(word)
        return ids

    def _text_features(self, seq: list[str]) -> Features:
        """Feature ids of an indexed text (interning its new words)."""
        cache = self._word_ids
        ids: list[int] = []
        unigrams: list[int] = []
        for w in seq:
            word_ids = cache.get(w) or self._word(w)
            ids.extend(word_ids)
            unigrams.append(word_ids[0])
        ids.extend(_bigram(a, b) for a, b in pairwise(unigrams))
        return frozenset(ids)

    def _article_texts(self, article: Article) -> tuple[list[list[str]], list[str]]:
        """Word sequences of the title and questions, and of the body."""
        return [words(text) for text in article.texts], words(article.body)

    def _count(self, features: Features, delta: int) -> None:
        df = self._df
        for fid in features:
            df[fid] += delta

    def _index(self, article: Article) -> None:
        slot = len(self._slots)
        self._bm25_pairs.clear()
        self._slots.append(article)
        self._slot_of[article.id] = slot
        short, body = self._article_texts(article)
        term_weights: dict[int, float] = {}
        stored: list[array[int]] = []
        for seq, weight in [*((s, 1.0) for s in short), (body, self.config.body_weight)]:
            if not seq:
                stored.append(array("I"))
                continue
            self._n_texts += 1
            features = self._text_features(seq)
            self._count(features, +1)
            stored.append(array("I", features))
            cache = self._word_ids
            for w in seq:
                term = cache[w][0]
                term_weights[term] = term_weights.get(term, 0.0) + weight
        self._slot_features.append(tuple(stored))
        length = sum(term_weights.values())
        self._lengths.append(length)
        self._total_length += length
        k1, b = self.config.bm25_k1, self.config.bm25_b
        average = self._total_length / max(1, len(self._slot_of))
        norm = k1 * (1.0 - b + b * length / max(average, 1e-9))
        postings_of = self._postings
        for term, tf in term_weights.items():
            postings = postings_of.get(term)
            if postings is None:
                postings = postings_of[term] = _Postings()
            postings.slots.append(slot)
            postings.impacts.append(tf * (k1 + 1.0) / (tf + norm))

    def _unindex(self, article_id: str) -> None:
        slot = self._slot_of.pop(article_id, None)
        if slot is None:
            return
        article = self._slots[slot]
        assert article is not None
        self._bm25_pairs.clear()
        self._slots[slot] = None
        stored = self._slot_features[slot]
        self._slot_features[slot] = None
        self._dead += 1
        self._vectors.pop(slot, None)
        for features in stored or ():
            if features:
                self._n_texts -= 1
                self._count(frozenset(features), -1)
        self._total_length = max(0.0, self._total_length - self._lengths[slot])
        if self._dead > max(1_000, len(self._slot_of)):
            self._compact()

    def _compact(self) -> None:
        """Drop tombstoned postings; amortised over many removals."""
        alive = self._slots
        for fid in list(self._postings):
            old = self._postings[fid]
            new = _Postings()
            for slot, impact in zip(old.slots, old.impacts, strict=True):
                if alive[slot] is not None:
                    new.slots.append(slot)
                    new.impacts.append(impact)
            if new.slots:
                self._postings[fid] = new
            else:
                del self._postings[fid]
        self._dead = 0

    # ------------------------------------------------------------------ search

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        """Articles matching ``query``, best first, at most ``limit``; [] for an empty query."""
        return self._search(query, limit, exclude_article=None, exclude_text=None)

    def search_held_out(
        self, query: str, article_id: str, text_index: int | None = None, limit: int = 3
    ) -> list[Hit]:
        """Search as if one text of an article (or the whole article) were not indexed.

        ``text_index`` counts the article's texts (0 is the title, 1.. the
        questions); ``None`` hides the whole article. This is how calibration
        asks "would we have answered this phrasing correctly had we not known
        it?" without rebuilding anything. (The held-out text still counts in
        document frequencies, a negligible optimism.)
        """
        return self._search(query, limit, exclude_article=article_id, exclude_text=text_index)

    def _search(
        self, query: str, limit: int, *, exclude_article: str | None, exclude_text: int | None
    ) -> list[Hit]:
        if limit <= 0 or not isinstance(query, str):
            return []
        seq = words(query, max_chars=MAX_QUERY_CHARS)
        if not seq:
            return []
        with self._lock:
            if not self._slot_of:
                return []
            self._refresh_idf()
            seq = self._correct_typos(seq)
            excluded = self._slot_of.get(exclude_article) if exclude_article else None
            skip = excluded if exclude_text is None else None
            candidates = self._candidates(seq, skip)
            if not candidates:
                return []
            query_features = self._query(seq)
            scored: list[tuple[float, int, int]] = []
            for slot in candidates:
                hide = exclude_text if slot == excluded else None
                score, best_text = self._score(query_features, slot, hide)
                if score > 0.0:
                    scored.append((score, -slot, best_text))
            hits = []
            # At most ``candidates`` entries: sorting them in C beats heapq's Python loop.
            for score, neg_slot, text_index in sorted(scored, reverse=True)[:limit]:
                article = self._slots[-neg_slot]
                assert article is not None
                # article.texts[text_index], without building the tuple of texts
                text = article.questions[text_index - 1] if text_index else article.title
                hits.append(Hit(article, min(1.0, score), text))
            return hits

    def _word_df(self, word: str) -> int:
        ids = self._word_ids.get(word)
        return self._df[ids[0]] if ids else 0

    def _correct_typos(self, seq: list[str]) -> list[str]:
        """Replace words the index has never seen by their closest vocabulary word, if close."""
        min_length = self.config.typo_min_length
        budget = self.config.max_typo_corrections
        out = []
        for w in seq:
            if budget and len(w) >= min_length and w.isalpha() and not self._word_df(w):
                budget -= 1
                w = self._closest_word(w) or w
            out.append(w)
        return out

    def _closest_word(self, word: str) -> str | None:
        """The most frequent vocabulary word among the most similar ones (rapidfuzz ratio)."""
        best: tuple[float, int, str] | None = None
        for length in (len(word) - 1, len(word), len(word) + 1):
            for end in {word[:2], word[-2:]}:
                choices = self._vocab_buckets.get((length, end))
                if not choices:
                    continue
                for choice, score, _ in process.extract(
                    word,
                    choices,
                    scorer=fuzz.ratio,
                    score_cutoff=self.config.typo_min_similarity,
                    limit=3,
                ):
                    df = self._word_df(choice)
                    if df and (best is None or (score, df) > best[:2]):
                        best = (score, df, choice)
        return best[2] if best else None

    def _candidates(self, seq: list[str], skip: int | None) -> list[int]:
        """First stage: BM25 over words, rarest first, skipping very common ones, within a budget.

        Bigrams are left to the re-ranking: for *finding* candidates the words
        suffice, and bigram postings would double the index.
        """
        cfg = self.config
        scores = self._bm25(seq)
        if skip is not None:
            scores.pop(skip, None)
        slots = self._slots
        want = cfg.candidates
        top = _largest(want + min(self._dead, want), scores)
        alive = [s for s in top if slots[s] is not None]
        if len(alive) < want and len(top) < len(scores):
            ranked = sorted(scores, key=scores.__getitem__, reverse=True)
            alive = [s for s in ranked if slots[s] is not None]
        alive = alive[:want]
        if alive and cfg.candidate_ratio > 0.0:
            floor = scores[alive[0]] * cfg.candidate_ratio
            keep = max(cfg.min_candidates, sum(1 for s in alive if scores[s] >= floor))
            alive = alive[:keep]
        return alive

    def _bm25(self, seq: list[str]) -> dict[int, float]:
        """BM25 score of each slot the words of ``seq`` were read for, in order of first sight."""
        cfg = self.config
        n = max(1, len(self._slot_of))
        lists: list[tuple[int, _Postings]] = []
        for w in set(seq):
            ids = self._word_ids.get(w)
            if ids is not None and (postings := self._postings.get(ids[0])) is not None:
                lists.append((ids[0], postings))
        lists.sort(key=lambda term: len(term[1].slots))
        common = max(cfg.common_floor, cfg.common_ratio * n)
        cached = len(self._slots) <= min(_CACHED_SLOTS, cfg.posting_budget)
        scores: dict[int, float] = {}
        get = scores.get
        read = 0
        for term, postings in lists:
            df = len(postings.slots)
            if read and (df > common or read + df > cfg.posting_budget):
                break
            if cached:  # the same sums, without a multiplication and a float32 read each
                for slot, contribution in self._contributions(term, postings, n):
                    scores[slot] = get(slot, 0.0) + contribution
                read += df
                continue
            idf = _bm25_idf(n, df)
            take = min(df, cfg.posting_budget)
            read += take
            posted, impacts = postings.slots, postings.impacts
            if take < df:  # copies: only when the budget cuts the list
                posted, impacts = posted[:take], impacts[:take]
            for slot, impact in zip(posted, impacts, strict=True):
                scores[slot] = get(slot, 0.0) + idf * impact
        return scores

    def _contributions(
        self, term: int, postings: _Postings, n: int
    ) -> tuple[tuple[int, float], ...]:
        """A word's (slot, BM25 contribution) pairs; kept until the index changes.

        On a small index the words of a question are in many of its articles
        ("how", "my", "order" are each in most of the 31 demo articles), so the
        first stage reads ~100 postings per question; reading precomputed products
        halves its cost (21 -> 10 µs). Large indexes do not keep them: their
        questions rarely repeat words, and the pairs would cost ~100 bytes a posting.
        """
        pairs = self._bm25_pairs.get(term)
        if pairs is None:
            idf = _bm25_idf(n, len(postings.slots))
            products = [idf * impact for impact in postings.impacts]
            pairs = tuple(zip(postings.slots, products, strict=True))
            self._bm25_pairs[term] = pairs
        return pairs

    def _refresh_idf(self) -> None:
        """Rebuild the squared-IDF-by-document-frequency table if the collection has moved.

        IDF is ``log((N + 1) / (df + 0.5))`` over texts; tabulating it by df
        turns every weight lookup into two C-level indexings.
        """
        n = self._n_texts
        if abs(n - self._idf_at) <= _IDF_TABLE_DRIFT * n and len(self._idf2) > n:
            return
        log_n = math.log(n + 1.0)
        size = int(n * (1.0 + 2 * _IDF_TABLE_DRIFT)) + 16
        self._idf2 = array("d", [(log_n - math.log(d + 0.5)) ** 2 for d in range(size)])
        self._idf_at = n

    def _weight2(self, features: Iterable[int]) -> float:
        """Sum of squared IDFs of ``features``: a dot product of binary TF-IDF vectors."""
        return sum(map(self._idf2.__getitem__, map(self._df.__getitem__, features)))

    def _query(self, seq: list[str]) -> _Query:
        """The query's known features, and its norm over *all* its features.

        Features the index has never seen get the highest IDF and stay in the
        norm: a message full of words no article uses ("who was the 13th
        president") must not look like a perfect match for the few words it
        shares with one. Nothing is interned for the query, so arbitrary
        customer input cannot grow the index.
        """
        ids = self._feature_ids
        known: set[int] = set()
        unseen: set[str] = set()
        for w in seq:
            cached = self._word_ids.get(w)
            if cached is not None:
                known.update(cached)
                continue
            for feature in (WORD + w, *char_grams(w)):
                fid = ids.get(feature)
                if fid is None:
                    unseen.add(feature)
                else:
                    known.add(fid)
        word_ids = self._word_ids
        for a, b in pairwise(seq):
            ids_a, ids_b = word_ids.get(a), word_ids.get(b)
            if ids_a is None or ids_b is None:
                unseen.add(f"{BIGRAM}{a} {b}")
            else:  # _bigram(ids_a[0], ids_b[0]), inlined
                known.add((ids_a[0] * _BIGRAM_MULTIPLIER + ids_b[0]) % BIGRAM_BUCKETS)
        df, idf2 = self._df, self._idf2
        # One pass for the known features and their weights. The set is built by adding
        # them one by one in the order of ``known``, as before (from a bare dict, frozenset
        # would presize its table: another iteration order, other sums), and the norm sums
        # the weights in its iteration order, as before: the same floats.
        weights = {f: idf2[n] for f in known if (n := df[f])}
        present = frozenset(iter(weights))
        missing = len(unseen) + len(known) - len(present)
        norm2 = sum(map(weights.__getitem__, present)) + missing * idf2[0]
        return _Query(present, math.sqrt(norm2) or 1.0, weights)

    def _feature_set(self, features: array[int]) -> Features:
        """A stored text's features as a set, as the same int objects as a query's features.

        Reading an array makes new int objects, and two distinct but equal ints cost
        a rich comparison each time a set or dict lookup matches them (identical
        objects match by identity): re-ranking's intersections and weight lookups
        match thousands per question (demo index: 769k -> 731k instructions per
        answer). Only where every article's vectors stay cached, so are built once:
        mapping the ids costs ~60 ns each. Bigrams (hashed, not interned) stay as
        they are (interning them too saved 0.15%). Same elements in the same
        insertion order, so the same set and the same iteration order.
        """
        if len(self._slots) > self.config.vector_cache_size:
            return frozenset(features)
        objects, first = self._feature_objects, BIGRAM_BUCKETS
        return frozenset([objects[f - first] if f >= first else f for f in features])

    def _article_vectors(self, slot: int) -> _ArticleVectors:
        cached = self._vectors.get(slot)
        # IDF drifts as articles come and go; vectors are rebuilt once it has drifted noticeably.
        if cached is not None and abs(cached.built_at_texts - self._n_texts) * 20 <= self._n_texts:
            self._vectors.move_to_end(slot)
            return cached
        stored = self._slot_features[slot]
        assert stored is not None
        texts = [self._feature_set(features) for features in stored[:-1]]
        norms = [math.sqrt(self._weight2(t)) or 1.0 for t in texts]
        body = self._feature_set(stored[-1])
        body_norm = math.sqrt(self._weight2(body)) or 1.0
        # |centroid|^2 = sum of weight_i * weight_j * cos(i, j) over all pairs of parts.
        parts = [(i, t, n, 1.0) for i, (t, n) in enumerate(zip(texts, norms, strict=True)) if t]
        if body:
            parts.append((len(texts), body, body_norm, self.config.body_weight))
        pairs: dict[tuple[int, int], float] = {}
        norm2 = sum(w * w for *_, w in parts)
        for x, (ix, tx, nx, wx) in enumerate(parts):
            for iy, ty, ny, wy in parts[x + 1 :]:
                shared = tx & ty
                if shared:
                    cosine = self._weight2(shared) / (nx * ny)
                    pairs[ix, iy] = cosine
                    norm2 += 2.0 * wx * wy * cosine
        vectors = _ArticleVectors(
            texts, norms, body, body_norm, math.sqrt(max(norm2, 0.0)) or 1.0, pairs, self._n_texts
        )
        self._vectors[slot] = vectors
        if len(self._vectors) > self.config.vector_cache_size:
            self._vectors.popitem(last=False)
        return vectors

    def _score(self, query: _Query, slot: int, hide_text: int | None) -> tuple[float, int]:
        """Article score = vote of its best texts blended with its centroid; and the best text.

        The vote sorts the bare cosines rather than (cosine, index) pairs built by a
        generator, and finds the best text's index afterwards: measured 908k -> 866k
        instructions per answer on the demo index (re-ranking runs for 4-10 articles a query).
        """
        cfg = self.config
        vectors = self._article_vectors(slot)
        q, weight, q_norm = query.features, query.weights.__getitem__, query.norm
        # cosine(query, text) = sum(map(weight, q & t)) / (|query| * |text|); an empty
        # text has norm 1.0 and shares nothing, so its cosine is 0.0 as well.
        sims = [
            sum(map(weight, q & t)) / (q_norm * norm)
            for t, norm in zip(vectors.texts, vectors.norms, strict=True)
        ]
        centroid_dot = sum(sims)
        if vectors.body:
            body_sim = sum(map(weight, q & vectors.body)) / (q_norm * vectors.body_norm)
            centroid_dot += cfg.body_weight * body_sim
        norm = vectors.centroid_norm
        if hide_text is not None and hide_text < len(sims):
            centroid_dot -= sims[hide_text]
            if vectors.texts[hide_text]:
                norm = self._norm_without(vectors, hide_text)
            sims[hide_text] = 0.0  # votes like a text that shares nothing
        # The vote: the best few cosines, best first; zeros add nothing to it.
        weights = cfg.neighbour_weights
        top = sorted(sims, reverse=True)[: len(weights)]
        vote = sum(map(mul, weights, top)) / self._weights_sum
        score = (1.0 - cfg.centroid_weight) * vote + cfg.centroid_weight * centroid_dot / norm
        # The best text: the last of the texts with the highest positive cosine, else the title.
        best_text = len(sims) - 1 - sims[::-1].index(top[0]) if top[0] > 0.0 else 0
        return score, best_text

    def _norm_without(self, vectors: _ArticleVectors, hidden: int) -> float:
        """Centroid norm once one (non-empty) text is left out: drop its self and pair terms."""
        body_index = len(vectors.texts)
        norm2 = vectors.centroid_norm**2 - 1.0
        for (i, j), cosine in vectors.pair_cosines.items():
            if hidden in (i, j):
                weight = self.config.body_weight if body_index in (i, j) else 1.0
                norm2 -= 2.0 * weight * cosine
        return math.sqrt(max(norm2, 0.0)) or 1.0
