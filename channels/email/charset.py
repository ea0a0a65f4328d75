"""Turning mail bytes into text whatever the mail claims its charset is.

Real mail lies about charsets: "us-ascii" bodies full of UTF-8, made-up names
("x-unknown", "utf8mb4", "charset"), codecs Python knows but that are not text
encodings ("base64", "rot13"). A reader must never fail on that, so every
decode here ends in a codec that cannot fail.
"""

from __future__ import annotations

import codecs

# Names seen in the wild that Python does not know, mapped to what they mean.
_ALIASES = {
    "utf8mb4": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "ks_c_5601-1987": "cp949",
    "x-sjis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "gb2312": "gb18030",  # a strict subset: decode with the superset
    "gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac_roman",
    "ansi_x3.4-1968": "ascii",
    "cp-850": "cp850",
    "windows-874": "cp874",
}

# Single-byte charsets that senders mislabel: bytes that decode as UTF-8 were
# almost certainly written as UTF-8.
_OFTEN_MISLABELLED = {"ascii", "latin-1", "iso8859-1", "cp1252"}

# Above this share of U+FFFD the "UTF-8 with replacement" reading is judged
# wrong and the bytes are read as Windows-1252 / Latin-1 instead.
_MAX_REPLACEMENT_SHARE = 0.01


def lookup_charset(name: str | None) -> str | None:
    """The Python codec name for a MIME charset label, or None if unusable."""
    if not name:
        return None
    label = name.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    # bytes-to-bytes codecs such as "base64" or "zlib" are not charsets.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode ``data`` using ``charset`` if it works, else the best fallback.

    Order: the declared charset (strict), UTF-8 (strict), UTF-8 with
    replacement when only a few bytes are bad, then Windows-1252 and finally
    Latin-1, which maps every byte and therefore always succeeds.
    """
    codec = lookup_charset(charset)
    if codec is not None and codec not in _OFTEN_MISLABELLED:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError, ValueError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError, ValueError):
            pass
    lenient = data.decode("utf-8", errors="replace")
    if lenient.count("\ufffd") <= len(lenient) * _MAX_REPLACEMENT_SHARE:
        return lenient
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def from_surrogates(value: str) -> str:
    """Repair a str holding raw 8-bit bytes as surrogate escapes.

    The stdlib parser keeps undecodable header bytes that way; they are
    usually UTF-8, sometimes a legacy charset.
    """
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    raw = value.encode("utf-8", errors="surrogateescape")
    return decode_bytes(raw)
