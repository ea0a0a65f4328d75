"""JSON for the hot paths (Socket.IO packets, JSON columns): orjson, with the
standard library wherever orjson would answer differently.

A web chat message is encoded or decoded as JSON about ten times: the
Socket.IO event in, its ack and the bot's answer out, the message rows' and
the event's JSON columns. With the standard library that was ~4% of a
message's CPU at 1,000 msg/s; orjson does each in a fraction of the time.

What either library accepts, the other reads back the same: orjson's output is
plain compact JSON. Where orjson refuses or would answer differently (integers
beyond 64 bits, which it reads as floats; dict keys that are not strings; the
``NaN``/``Infinity`` tokens that the standard library writes and reads), the
standard library does the job, so nothing that worked before changes.
Without orjson installed (it is a dependency, but a platform without a
build of it may lack it) the standard library does everything.

The module has the shape python-socketio expects of its ``json`` argument:
``dumps(obj, **kwargs)`` and ``loads(text, **kwargs)``.
"""

from __future__ import annotations

import json
import re
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency
    orjson = None  # type: ignore[assignment]

#: The standard library's compact form, what python-socketio asks for.
_compact = json.JSONEncoder(separators=(",", ":"))
#: Twenty digits in a row: maybe an integer orjson would read as a float.
_LONG_NUMBER_TEXT = re.compile(r"[0-9]{20}")
_LONG_NUMBER_BYTES = re.compile(rb"[0-9]{20}")


def dumps(obj: Any, **kwargs: Any) -> str:
    """Compact JSON text of ``obj``. Keyword arguments other than ``separators`` (what
    python-socketio passes) go to the standard library, which honours them."""
    if orjson is None or (kwargs and kwargs.keys() != {"separators"}):
        return json.dumps(obj, **kwargs) if kwargs else _compact.encode(obj)
    try:
        out = orjson.dumps(obj)
    except TypeError:  # big integers, non-string keys, what orjson cannot write
        return _compact.encode(obj)
    if b"null" in out and _has_special_float(obj):
        return _compact.encode(obj)  # orjson wrote NaN/inf as null: keep the stdlib's tokens
    return out.decode()


def loads(text: str | bytes, **kwargs: Any) -> Any:
    """The value of a JSON document; errors are ``json.JSONDecodeError`` (a ValueError)."""
    if orjson is None or kwargs:
        return json.loads(text, **kwargs)
    if (_LONG_NUMBER_TEXT if isinstance(text, str) else _LONG_NUMBER_BYTES).search(text):
        return json.loads(text)  # orjson reads integers past 64 bits as floats
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # What orjson refuses and the standard library reads (NaN, huge integers), or
        # truly malformed text, which the standard library refuses in its own words.
        return json.loads(text)


def _has_special_float(obj: Any) -> bool:
    """Whether ``obj`` holds a NaN or an infinity anywhere (orjson writes them as null)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False
