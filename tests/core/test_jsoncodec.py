"""The hot paths' JSON (orjson) reads and writes what the standard library did."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest

from contactcenter import jsoncodec


class Kind(StrEnum):
    BOT = "bot"


VALUES: list[Any] = [
    None,
    True,
    0,
    -(2**63),
    2**64 + 1,  # beyond orjson's integers
    1.5,
    "",
    'naïve ☃ \u2028 </script> "quoted" \\ \x00',
    [],
    {},
    {"id": 12, "text": "hi", "suggestions": [{"url": None}], "nested": [[1, [2, {"a": []}]]]},
    {1: "integer key", "b": 2},  # orjson refuses non-string keys
    ("a", 1),
    {"author": Kind.BOT},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_what_is_written_reads_back_as_the_standard_library_reads_it(value: Any) -> None:
    text = jsoncodec.dumps(value, separators=(",", ":"))
    assert json.loads(text) == json.loads(json.dumps(value))
    assert jsoncodec.loads(text) == json.loads(text)
    assert jsoncodec.loads(text.encode()) == json.loads(text)


def test_nan_and_infinity_are_written_as_null_and_still_read() -> None:
    """JSON has no NaN: the standard library's ``NaN`` token broke a browser's JSON.parse."""
    text = jsoncodec.dumps({"confidence": math.nan, "deep": [{"x": math.inf}]})
    assert text == '{"confidence":null,"deep":[{"x":null}]}'
    back = jsoncodec.loads('{"c": NaN, "d": [Infinity, -Infinity]}')
    assert math.isnan(back["c"]) and back["d"] == [math.inf, -math.inf]


def test_other_keyword_arguments_are_honoured() -> None:
    assert jsoncodec.dumps({"a": 1}, indent=2) == json.dumps({"a": 1}, indent=2)
    assert jsoncodec.dumps({"b": 1, "a": 2}, sort_keys=True) == '{"a": 2, "b": 1}'
    assert jsoncodec.loads('{"a": 1.5}', parse_float=str) == {"a": "1.5"}


MALFORMED = ["", "{", '{"a":}', "[1,]", "nul", '"\\x"', "{'a': 1}", "\ufeff{}"]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_text_is_refused_as_the_standard_library_refuses_it(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as ours:
        jsoncodec.loads(text)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(text)
    assert ours.value.msg == theirs.value.msg


def test_what_neither_can_write_is_refused_with_the_standard_library_error() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        jsoncodec.dumps({"when": object()})


def test_datetimes_are_written_where_the_standard_library_refused_them() -> None:
    """The one widening: orjson writes an aware datetime as RFC 3339 text."""
    when = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert jsoncodec.loads(jsoncodec.dumps({"at": when})) == {"at": "2026-11-23T06:00:00+00:00"}


def test_text_with_a_lone_surrogate_reads_as_the_standard_library_reads_it() -> None:
    text = '{"a": "\ud800", "n": 123456789012345678901}'
    assert jsoncodec.loads(text) == json.loads(text)
