"""The hot path's timestamp conversions give exactly what SQLAlchemy's would."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Integer
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import JSON
from sqlmodel.sql.sqltypes import UTCDateTime

from contactcenter.storage import fast_types

SQLITE = sqlite.dialect()
TYPE = UTCDateTime()
SLOW_BIND = TYPE.dialect_impl(SQLITE).bind_processor(SQLITE)
SLOW_RESULT = TYPE.dialect_impl(SQLITE).result_processor(SQLITE, None)
FAST_BIND = fast_types.bind_processor(TYPE, SQLITE)
FAST_RESULT = fast_types.result_processor(TYPE, SQLITE)

MOMENTS = [
    datetime(2026, 11, 23, 1, 2, 3, 456789, tzinfo=UTC),
    datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC),  # no microseconds: still six digits
    datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=2))),  # another zone
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-11))),
    datetime(1, 1, 1, 0, 0, tzinfo=UTC),  # years below 1000 keep four digits
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def test_the_fast_conversions_are_the_ones_for_sqlite_timestamps() -> None:
    assert FAST_BIND is not SLOW_BIND and FAST_BIND is not None
    assert FAST_RESULT is not SLOW_RESULT and FAST_RESULT is not None


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_a_timestamp_is_stored_as_the_same_text(moment: datetime) -> None:
    assert SLOW_BIND is not None and FAST_BIND is not None
    assert FAST_BIND(moment) == SLOW_BIND(moment)


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_stored_text_reads_back_as_the_same_aware_utc_moment(moment: datetime) -> None:
    assert SLOW_BIND is not None and FAST_RESULT is not None and SLOW_RESULT is not None
    text = SLOW_BIND(moment)
    fast, slow = FAST_RESULT(text), SLOW_RESULT(text)
    assert fast == slow == moment
    assert fast.tzinfo is UTC and slow.tzinfo is UTC


@pytest.mark.parametrize("text", ["2026-11-23 01:02:03", "2026-11-23", "2026-11-23T01:02:03.5"])
def test_other_stored_forms_read_back_alike(text: str) -> None:
    """Rows written by other tools (no microseconds, a date alone, a "T")."""
    assert FAST_RESULT is not None and SLOW_RESULT is not None
    assert FAST_RESULT(text) == SLOW_RESULT(text)
    assert FAST_RESULT(None) is None


def test_a_run_of_moments_is_stored_as_sqlalchemy_would_store_each() -> None:
    """The fast bind reuses the text of the last second it formatted: moments in the
    same second, the next second, and back again each get their own exact text."""
    assert SLOW_BIND is not None and FAST_BIND is not None
    rng = random.Random(7)
    base = datetime(2026, 11, 23, 23, 59, 58, tzinfo=UTC)
    moments = [base + timedelta(microseconds=rng.randrange(0, 3_000_000)) for _ in range(500)]
    moments += [m.astimezone(timezone(timedelta(hours=5, minutes=30))) for m in moments[:50]]
    for moment in moments:
        assert FAST_BIND(moment) == SLOW_BIND(moment)


@pytest.mark.parametrize(
    "text",
    ["2026-11-23 09:30:00.123+01", "2026-11-23T09:30:00.12345Z", "2026-11-23 09:30:00.12345x"],
)
def test_a_text_of_the_storage_length_with_another_form_reads_back_alike(text: str) -> None:
    """26 characters but not the storage format: read the general way, or refused alike."""
    assert FAST_RESULT is not None and SLOW_RESULT is not None
    try:
        expected = SLOW_RESULT(text)
    except ValueError:
        with pytest.raises(ValueError):
            FAST_RESULT(text)
        return
    assert FAST_RESULT(text) == expected


def test_a_naive_timestamp_is_refused_as_before() -> None:
    assert FAST_BIND is not None and SLOW_BIND is not None
    naive = datetime(2026, 11, 23, 1, 2, 3)
    with pytest.raises(ValueError, match="timezone") as fast:
        FAST_BIND(naive)
    with pytest.raises(ValueError, match="timezone") as slow:
        SLOW_BIND(naive)
    assert str(fast.value) == str(slow.value)
    with pytest.raises(TypeError):
        FAST_BIND("2026-11-23")  # not a datetime


@pytest.mark.parametrize("dialect", [SQLITE, postgresql.asyncpg.dialect()], ids=lambda d: d.name)
@pytest.mark.parametrize(
    "value", [[], {}, [1, "é", None], {"a": [], "b": {"c": 1.5}}, "text", 0, False, [[]]], ids=repr
)
def test_json_is_stored_as_the_same_text(value: object, dialect: object) -> None:
    slow = JSON().dialect_impl(dialect).bind_processor(dialect)  # type: ignore[arg-type]
    fast = fast_types.bind_processor(JSON(), dialect)  # type: ignore[arg-type]
    assert slow is not None and fast is not None
    assert fast(value) == slow(value)


def test_other_types_and_dialects_keep_sqlalchemys_conversions() -> None:
    pg = postgresql.asyncpg.dialect()
    for type_, dialect in ((TYPE, pg), (Integer(), SQLITE)):
        slow = type_.dialect_impl(dialect).bind_processor(dialect)
        fast = fast_types.bind_processor(type_, dialect)
        assert type(fast) is type(slow)
        if slow is not None and fast is not None:
            assert fast.__code__ is slow.__code__
