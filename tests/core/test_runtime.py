"""The server process's GC tuning (contactcenter serve)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from contactcenter import cli
from contactcenter.runtime import GC_YOUNG_THRESHOLD, tune_gc


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_tune_gc_raises_only_the_young_threshold(restore_gc: None) -> None:
    gc.set_threshold(700, 10, 10)
    tune_gc()
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 10, 10)


def test_serve_tunes_the_gc_before_building_the_app(
    restore_gc: None, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    gc.set_threshold(700, 10, 10)
    seen: list[tuple[int, int, int]] = []

    def fake_create_app(settings: object) -> object:
        seen.append(gc.get_threshold())
        raise SystemExit(0)  # stop before a server would start

    monkeypatch.setattr("contactcenter.app.create_app", fake_create_app)
    monkeypatch.setattr("contactcenter.logs.setup_logging", lambda *a, **k: None)
    with pytest.raises(SystemExit):
        cli.main(["serve", "--data-dir", str(tmp_path)])
    assert seen and seen[0][0] == GC_YOUNG_THRESHOLD
