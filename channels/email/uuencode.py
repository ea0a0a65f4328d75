"""uuencoded files pasted into plain-text bodies.

Old mailers (and a lot of malware) still send attachments as "begin 644 name"
blocks inside the text instead of as MIME parts. Left in place they fill the
customer's message with garbage; taken out they become a normal attachment.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

_BLOCK = re.compile(
    r"^begin(?:-base64)? [0-7]{3,4} (?P<name>[^\r\n]{1,255})\r?\n(?P<body>.*?)^end\s*$\n?",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class UuFile:
    filename: str
    content: bytes


def extract_uuencoded(text: str) -> tuple[str, list[UuFile]]:
    """The text without its uuencoded blocks, and the decoded files."""
    if "begin " not in text:
        return text, []
    files: list[UuFile] = []

    def take(match: re.Match[str]) -> str:
        decoded = _decode(match.group("body"))
        if decoded is None:
            return match.group(0)
        files.append(UuFile(match.group("name").strip(), decoded))
        return ""

    return _BLOCK.sub(take, text), files


def _decode(body: str) -> bytes | None:
    out = bytearray()
    for line in body.splitlines():
        if not line or line in ("`", " "):
            continue
        try:
            out.extend(binascii.a2b_uu(line))
        except binascii.Error:
            # Some encoders write lines longer than the length byte says.
            try:
                nbytes = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3
                out.extend(binascii.a2b_uu(line[:nbytes]))
            except (binascii.Error, IndexError):
                return None
    return bytes(out)
