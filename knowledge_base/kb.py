"""The knowledge base as one object: articles, their index, and the answer policy.

This is the synchronous heart that the async :class:`KnowledgeBaseAnswerer`
wraps. It owns the decision of *when* to calibrate: once at construction
(unless thresholds are given explicitly) and again only on request, because
calibration costs a search per question and edits to a live knowledge base
rarely change the score distribution much.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from knowledge_base.articles import Article
from knowledge_base.calibration import CalibrationReport, calibrate
from knowledge_base.importers import load_articles
from knowledge_base.index import Hit, IndexConfig, SearchIndex
from knowledge_base.policy import AnswerPolicy, KBAnswer, PolicyThresholds


class KnowledgeBase:
    """Searchable articles plus the policy that turns a search into a reply."""

    def __init__(
        self,
        articles: Iterable[Article] = (),
        *,
        thresholds: PolicyThresholds | None = None,
        index_config: IndexConfig | None = None,
        calibrate: bool = True,
    ) -> None:
        """Index ``articles``; calibrate the answer threshold unless ``thresholds`` is given."""
        self.index = SearchIndex(articles, index_config)
        self.policy = AnswerPolicy(thresholds)
        self.calibration: CalibrationReport | None = None
        self._calibrating = threading.Lock()
        if thresholds is None and calibrate:
            self.recalibrate()

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        *,
        thresholds: PolicyThresholds | None = None,
        index_config: IndexConfig | None = None,
        calibrate: bool = True,
    ) -> KnowledgeBase:
        """Load articles from a JSONL or CSV file or a folder of Markdown files.

        Malformed entries are skipped; use :func:`knowledge_base.importers.load_articles`
        directly to see them.
        """
        result = load_articles(path)
        return cls(
            result.articles, thresholds=thresholds, index_config=index_config, calibrate=calibrate
        )

    def recalibrate(
        self, *, target_precision: float = 0.90, out_of_scope_share: float = 0.15
    ) -> CalibrationReport:
        """Re-choose the answer threshold from the current articles' own questions.

        See :func:`knowledge_base.calibration.calibrate` for what the two knobs mean.
        """
        with self._calibrating:
            report = calibrate(
                self.index,
                self.policy.thresholds,
                target_precision=target_precision,
                out_of_scope_share=out_of_scope_share,
            )
            self.policy = AnswerPolicy(report.thresholds)
            self.calibration = report
            return report

    @property
    def thresholds(self) -> PolicyThresholds:
        return self.policy.thresholds

    def add(self, article: Article) -> None:
        self.index.add(article)

    def update(self, article: Article) -> None:
        self.index.update(article)

    def remove(self, article: Article | str) -> bool:
        return self.index.remove(article)

    def get(self, article_id: str) -> Article | None:
        return self.index.get(article_id)

    def __len__(self) -> int:
        return len(self.index)

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        return self.index.search(query, limit)

    def answer(self, question: str) -> KBAnswer:
        """Answer, suggest or decline; blocking (CPU-bound), see the async answerer.

        A decline still lists the best candidates (if any) as suggestions: the
        core shows them to the agent who takes over, never to the customer.
        """
        policy = self.policy
        limit = max(2, policy.thresholds.max_suggestions)
        hits = self.index.search(question, limit)
        return policy.with_agent_candidates(policy.decide(hits), hits)
