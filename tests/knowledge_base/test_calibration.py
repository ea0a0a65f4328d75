"""Calibration: the answer threshold is learnt from the articles' own questions."""

from __future__ import annotations

from knowledge_base import Article, KnowledgeBase, PolicyThresholds, SearchIndex, calibrate
from knowledge_base.calibration import _threshold


def test_demo_is_calibrated_within_sane_bounds(demo_kb: KnowledgeBase) -> None:
    report = demo_kb.calibration
    assert report is not None and report.calibrated
    assert report.held_out_questions > 100
    assert 0.1 <= report.thresholds.answer <= 0.6
    assert report.estimated_precision >= 0.9
    assert demo_kb.thresholds == report.thresholds


def test_too_few_questions_keep_the_defaults() -> None:
    index = SearchIndex([Article("a", "Store hours", "", ("when are you open",))])
    report = calibrate(index)
    assert not report.calibrated
    assert report.thresholds == PolicyThresholds()


def test_threshold_rises_when_held_out_articles_look_confident() -> None:
    in_scope = [(0.5, True)] * 50 + [(0.3, True)] * 40 + [(0.3, False)] * 10
    lenient, _, _ = _threshold(in_scope, unseen=[0.0] * 50, target=0.9, share=0.1)
    strict, _, _ = _threshold(in_scope, unseen=[0.31] * 50, target=0.9, share=0.1)
    assert lenient == 0.3
    assert strict == 0.5


def test_unreachable_target_means_never_answering() -> None:
    answer, _, deflection = _threshold([(0.4, False)] * 10, [], target=0.9, share=0.1)
    assert answer == 1.0 and deflection == 0.0


def test_recalibrate_after_changes(demo_kb: KnowledgeBase) -> None:
    articles = list(demo_kb.index)
    kb = KnowledgeBase(articles)
    first = kb.thresholds.answer
    kb.remove(articles[0].id)
    report = kb.recalibrate(target_precision=0.99)
    assert report.calibrated
    assert kb.thresholds.answer >= first
