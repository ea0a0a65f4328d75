"""JSON for the hot paths (Socket.IO packets, JSON columns): orjson, with the
standard library wherever orjson would answer differently.

A web chat message is encoded or decoded as JSON about ten times: the
Socket.IO event in, its ack and the bot's answer out, the message rows' and
the event's JSON columns. With the standard library that was ~4% of a
message's CPU at 1,000 msg/s; orjson does each in a fraction of the time.

What either library accepts, the other reads back the same: orjson's output is
plain compact JSON. Where orjson refuses or would answer differently (integers
beyond 64 bits, which it reads as floats; dict keys that are not strings; the
``NaN``/``Infinity`` tokens that the standard library reads), the standard
library does the job, so nothing that was read or written before is refused
now. One difference is kept on purpose: a NaN or an infinity is written as
``null``, as JSON has no such numbers (the standard library wrote ``NaN``,
which a browser's ``JSON.parse`` refuses, so the widget could not have read it).

The module has the shape python-socketio expects of its ``json`` argument:
``dumps(obj, **kwargs)`` and ``loads(text, **kwargs)``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

#: The standard library's compact form, what python-socketio asks for.
_compact = json.JSONEncoder(separators=(",", ":"))
#: Bytes with every ASCII digit as "0" and anything else as " " (UTF-8 puts no digit
#: byte inside a multi-byte character): twenty zeros in a row are a number that
#: long, maybe an integer orjson would read as a float. Faster than a regex.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_NUMBER = b"0" * 20


def dumps(obj: Any, **kwargs: Any) -> str:
    """Compact JSON text of ``obj``. Keyword arguments other than ``separators`` (what
    python-socketio passes) go to the standard library, which honours them."""
    if kwargs and (len(kwargs) > 1 or "separators" not in kwargs):
        return json.dumps(obj, **kwargs)
    try:
        return orjson.dumps(obj).decode()
    except TypeError:  # big integers, non-string keys, what orjson cannot write
        return _compact.encode(obj)


def loads(text: str | bytes, **kwargs: Any) -> Any:
    """The value of a JSON document; errors are ``json.JSONDecodeError`` (a ValueError)."""
    if kwargs:
        return json.loads(text, **kwargs)
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if _LONG_NUMBER in raw.translate(_DIGITS_AS_ZERO):
        return json.loads(text)  # orjson reads integers past 64 bits as floats
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # What orjson refuses and the standard library reads (NaN, huge integers), or
        # truly malformed text, which the standard library refuses in its own words.
        return json.loads(text)
