"""parse_email over every MIME fixture (CPython's and SpamScope's test mail).

Nothing may raise; each file gives a ParsedEmail or a Quarantined with a
reason. Where SpamScope's expected_assertions.json pins down a parser-agnostic
fact (addresses, subject, attachment counts, defects), it is checked too.
"""

# ruff: noqa: RUF001  (a Cyrillic file name is the point)

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from channels.email.model import AutoReplyKind, ParsedEmail, Quarantined
from channels.email.parse import parse_email

MIME = Path(__file__).resolve().parents[2] / "fixtures" / "email" / "mime"
NOT_MAIL = {"SOURCE.txt", "expected_assertions.json"}
ALL_FILES = sorted(p for p in MIME.rglob("*") if p.is_file() and p.name not in NOT_MAIL)
SPAMSCOPE = MIME / "spamscope_mail_parser"
ASSERTIONS: dict[str, dict[str, Any]] = {
    Path(key).name: value
    for key, value in json.loads((SPAMSCOPE / "expected_assertions.json").read_text())[
        "mails"
    ].items()
}
# Files that are rightly refused, and why.
EXPECTED_QUARANTINE = {
    "msg_19.txt": "does not start with a header line",  # a digest body without headers
    "mail_outlook_1": "Outlook .msg",  # an OLE compound file, not RFC 5322
}


def test_fixture_corpus_is_complete() -> None:
    assert len([p for p in ALL_FILES if p.parent.name == "cpython_test_email"]) == 48
    assert len([p for p in ALL_FILES if p.parent.name == "spamscope_mail_parser"]) == 23


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_fixture_parses_or_is_quarantined(path: Path) -> None:
    result = parse_email(path.read_bytes())
    assert isinstance(result, ParsedEmail | Quarantined)
    if isinstance(result, Quarantined):
        assert path.name in EXPECTED_QUARANTINE, result.reason
        assert EXPECTED_QUARANTINE[path.name] in result.reason
        assert result.raw == path.read_bytes()
        return
    assert path.name not in EXPECTED_QUARANTINE
    assert result.message_id.startswith("<") and result.message_id.endswith(">")
    assert isinstance(result.text, str) and isinstance(result.reply_text, str)
    assert len(result.reply_text) <= len(result.text) + 1
    for attachment in result.attachments:
        assert attachment.filename and "/" not in attachment.filename
        assert attachment.size >= 0
        if attachment.content is not None:
            assert len(attachment.content) == attachment.size


def _parsed(name: str) -> ParsedEmail:
    result = parse_email((SPAMSCOPE / name).read_bytes())
    assert isinstance(result, ParsedEmail), result
    return result


def _pairs(addresses: Any) -> list[list[str]]:
    return [[a.name or "", a.address] for a in addresses]


@pytest.mark.parametrize("name", sorted(ASSERTIONS))
def test_spamscope_expected_assertions(name: str) -> None:
    expected = ASSERTIONS[name]
    parsed = _parsed(name)
    checked = 0
    if "message_id" in expected:
        assert parsed.message_id == expected["message_id"]
        checked += 1
    if "subject" in expected:
        assert parsed.subject == expected["subject"]
        checked += 1
    if "to_count" in expected:
        assert len(parsed.to) == expected["to_count"]
        assert parsed.to[0].address == expected["to_0_addr"]
        checked += 1
    if "from_0_addr" in expected:
        assert parsed.from_address == expected["from_0_addr"]
        checked += 1
    if "date_utc_iso" in expected:
        assert parsed.date is not None
        assert parsed.date.isoformat() + "+00:00" == expected["date_utc_iso"]
        checked += 1
    if "attachments_count" in expected:
        assert len(parsed.attachments) == expected["attachments_count"]
        checked += 1
    if expected.get("attachment_filenames_are_str"):
        assert all(isinstance(a.filename, str) for a in parsed.attachments)
        assert parsed.attachments
        checked += 1
    for key in ("defect_categories", "defect_categories_include"):
        for defect in expected.get(key, []):
            assert defect in parsed.defects
            checked += 1
    if expected.get("has_defects") is False:
        assert not parsed.defects
        checked += 1
    if "text_html_parts" in expected:
        assert (parsed.html is not None) == (expected["text_html_parts"] > 0)
        checked += 1
    for field in ("from", "to", "cc", "reply_to"):
        if field in expected:
            actual = (
                [[parsed.from_name or "", parsed.from_address]]
                if field == "from"
                else _pairs(getattr(parsed, field))
            )
            assert actual == expected[field], field
            checked += 1
    if "headers" in expected:
        headers = expected["headers"]
        assert parsed.subject == headers["Subject"]
        assert parsed.message_id == headers["Message-ID"]
        assert [[parsed.from_name or "", parsed.from_address]] == headers["From"]
        assert _pairs(parsed.to) == headers["To"]
        assert parsed.headers["precedence"] == headers["Precedence"]
        checked += 1
    if "uuencoded_attachment" in expected:
        uu = expected["uuencoded_attachment"]
        found = [a for a in parsed.attachments if a.filename == uu["filename"]]
        assert found and found[0].content is not None
        assert hashlib.md5(found[0].content).hexdigest() == uu["md5"]
        assert "begin 644" not in parsed.text
        checked += 1
    if "text_parts_not_plain_or_html" in expected:
        contents = [a.content for a in parsed.attachments]
        for text in expected["text_parts_not_plain_or_html"]:
            assert text.encode() in contents
        checked += 1
    if "attachment_filenames" in expected:
        # mail-parser names unnamed inline parts after their Content-ID; we give
        # them a generated name and keep the Content-ID alongside.
        names = {a.filename for a in parsed.attachments}
        cids = {f"<{a.content_id}>" for a in parsed.attachments if a.content_id}
        for wanted in expected["attachment_filenames"]:
            assert wanted in names or wanted in cids
        checked += 1
    assert checked or set(expected) <= {
        "tests",
        "received_header_count",
        "header_X-MSMail-Priority",
    }


def test_gtube_precedence_junk_is_bulk() -> None:
    assert _parsed("mail_test_16").auto_reply is AutoReplyKind.LIST


def test_cyrillic_8bit_filename_is_decoded() -> None:
    names = [a.filename for a in _parsed("mail_test_1").attachments]
    assert names == ["ФНС_РФ558.zip"]


def test_bounce_fixture_is_a_bounce() -> None:
    assert _parsed("mail_malformed_2").auto_reply is AutoReplyKind.BOUNCE
