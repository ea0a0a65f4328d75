"""parse_email on mail built to break parsers, and on the MIME shapes we rely on."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable

import pytest

from channels.email.model import ParsedEmail, Quarantined
from channels.email.parse import parse_email, synthesize_message_id

Mail = Callable[..., bytes]


def _ok(raw: bytes, **kwargs: int) -> ParsedEmail:
    result = parse_email(raw, **kwargs)
    assert isinstance(result, ParsedEmail), result
    return result


def _body(parts: list[bytes], boundary: str) -> bytes:
    delimiter = b"--" + boundary.encode()
    return b"".join(delimiter + b"\r\n" + p + b"\r\n" for p in parts) + delimiter + b"--\r\n"


def _multipart(parts: list[bytes], subtype: str = "mixed", boundary: str = "XYZ") -> bytes:
    """A multipart *part* (its own header and body), for nesting."""
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()
    return head + _body(parts, boundary)


def _mime_mail(mail: Mail, parts: list[bytes], subtype: str = "mixed", **kwargs: str) -> bytes:
    """A whole message whose top level is multipart/``subtype``."""
    headers = {"MIME-Version": "1.0", "Content-Type": f'multipart/{subtype}; boundary="TOP"'}
    return mail(_body(parts, "TOP"), headers=headers, **kwargs)


# -- refusing what is not mail ---------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n\r\n", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "Outlook"),
        (b"just some text\nwithout any header\n", "header line"),
        (b"From: a@b.c\r\nSubj\x00ect: x\r\n\r\nbody", "binary"),
        (b"X-Custom: 1\r\n\r\nbody", "no recognisable"),
    ],
)
def test_not_mail_is_quarantined(raw: bytes, reason: str) -> None:
    result = parse_email(raw)
    assert isinstance(result, Quarantined)
    assert reason in result.reason
    assert result.raw == raw


def test_oversized_message_is_quarantined(mail: Mail) -> None:
    result = parse_email(mail("x" * 2000), max_message_bytes=1000)
    assert isinstance(result, Quarantined) and "exceeds" in result.reason


def test_non_bytes_input_is_quarantined_not_raised() -> None:
    result = parse_email("From: a@b.c\r\n\r\nhi")  # type: ignore[arg-type]
    assert isinstance(result, Quarantined)


def test_random_bytes_never_raise() -> None:
    rng = __import__("random").Random(1234)
    for _ in range(200):
        size = rng.randint(0, 3000)
        raw = bytes(rng.getrandbits(8) for _ in range(size))
        if rng.random() < 0.5:
            raw = b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n" + raw
        assert isinstance(parse_email(raw), ParsedEmail | Quarantined)


# -- malformed headers ----------------------------------------------------------


def test_malformed_headers(mail: Mail) -> None:
    raw = mail(
        "Body survives.",
        headers={
            "From": '"Unclosed quote <bob@example.org',
            "To": "<<<>>>, ,,, @@@, valid@example.org",
            "Date": "not a date at all",
            "Subject": "=?utf-8?B?broken base64!!?= and =?x-bogus?Q?caf=E9?=",
            "Message-ID": "no-brackets@example.org",
            "References": "<a@x> garbage <b@y> <<c@z>>",
            "Content-Type": "text/plain; charset=",
        },
    )
    parsed = _ok(raw)
    assert parsed.text.strip() == "Body survives."
    assert parsed.date is None
    assert parsed.message_id == "<no-brackets@example.org>"
    assert parsed.references == ("<a@x>", "<b@y>", "<c@z>")
    assert [a.address for a in parsed.to] == ["valid@example.org"]
    assert "café" in parsed.subject


def test_header_without_colon_and_8bit_garbage(mail: Mail) -> None:
    raw = (
        b"From: Jos\xe9 <jose@example.org>\r\nThis line is not a header\r\n"
        b"Subject: Caf\xc3\xa9 \xff\r\n\r\nhi\r\n"
    )
    parsed = _ok(raw)
    assert parsed.from_address == "jose@example.org"
    assert parsed.from_name == "José"


def test_missing_message_id_is_synthesized_stably(mail: Mail) -> None:
    raw = mail("hello", headers={"Message-ID": None})
    first, second = _ok(raw), _ok(raw)
    assert first.message_id_synthesized
    assert first.message_id == second.message_id == synthesize_message_id(raw)
    assert _ok(raw + b"!").message_id != first.message_id


def test_missing_from_still_parses(mail: Mail) -> None:
    parsed = _ok(mail("hi", headers={"From": None}))
    assert parsed.from_address is None


# -- MIME structure -------------------------------------------------------------


def test_multipart_alternative_prefers_plain_and_keeps_html(mail: Mail) -> None:
    parts = [
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nPlain version",
        b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>HTML <b>version</b></p>",
    ]
    parsed = _ok(_mime_mail(mail, parts, "alternative"))
    assert parsed.text.strip() == "Plain version"
    assert parsed.html is not None and "<b>version</b>" in parsed.html


def test_related_with_inline_image_and_mixed_attachment(mail: Mail) -> None:
    png = base64.b64encode(b"\x89PNG fake").decode()
    related = _multipart(
        [
            _multipart(
                [
                    b"Content-Type: text/plain\r\n\r\nSee the picture",
                    b'Content-Type: text/html\r\n\r\n<p>See <img src="cid:img1" alt="pic"></p>',
                ],
                "alternative",
                "ALT",
            ),
            b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-ID: <img1>\r\n\r\n" + png.encode(),
        ],
        "related",
        "REL",
    )
    pdf_part = (
        b'Content-Type: application/pdf; name="invoice.pdf"\r\n'
        b'Content-Disposition: attachment; filename="invoice.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"%PDF-1.4")
    )
    parsed = _ok(_mime_mail(mail, [related, pdf_part]))
    assert parsed.text.strip() == "See the picture"
    image, pdf = parsed.attachments
    assert (image.content_type, image.inline, image.content_id) == ("image/png", True, "img1")
    assert image.content == b"\x89PNG fake"
    assert (pdf.filename, pdf.inline, pdf.content) == ("invoice.pdf", False, b"%PDF-1.4")


def test_html_only_mail_becomes_readable_text(mail: Mail) -> None:
    html = (
        "<html><head><style>p {color: red}</style><script>alert(1)</script></head><body>"
        "<p>Hello,</p><p>my order <b>#123</b> is late.<br>Can you check?</p>"
        "<ul><li>ordered Monday</li><li>paid by card</li></ul>"
        '<p>Tracking: <a href="https://track.example/123">this link</a></p>'
        '<div class="gmail_quote">On Mon, 1 Jan 2024 at 10:00, Support '
        "&lt;support@northwind.example&gt; wrote:<blockquote>Old text</blockquote></div>"
        "</body></html>"
    )
    raw = mail(html, headers={"Content-Type": "text/html; charset=utf-8"})
    parsed = _ok(raw)
    assert parsed.html == html
    assert "alert" not in parsed.text and "color" not in parsed.text
    assert "Hello,\n\nmy order #123 is late.\nCan you check?" in parsed.text
    assert "- ordered Monday\n- paid by card" in parsed.text
    assert "this link (https://track.example/123)" in parsed.text
    assert "> Old text" in parsed.text
    assert "Old text" not in parsed.reply_text
    assert parsed.reply_text.endswith("this link (https://track.example/123)")


def test_broken_boundary_is_recovered(mail: Mail) -> None:
    body = (
        b"--real-boundary\r\nContent-Type: text/plain\r\n\r\nThe actual text\r\n"
        b"--real-boundary\r\nContent-Type: application/zip; name=a.zip\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--real-boundary--\r\n"
    )
    raw = mail(body, headers={"Content-Type": 'multipart/mixed; boundary="declared-but-absent"'})
    parsed = _ok(raw)
    assert "The actual text" in parsed.text
    assert [a.filename for a in parsed.attachments] == ["a.zip"]
    assert "RecoveredBrokenBoundary" in parsed.defects


def test_missing_close_boundary(mail: Mail) -> None:
    body = b"--B\r\nContent-Type: text/plain\r\n\r\nText before the end\r\n"
    parsed = _ok(mail(body, headers={"Content-Type": "multipart/mixed; boundary=B"}))
    assert "Text before the end" in parsed.text
    assert "CloseBoundaryNotFoundDefect" in parsed.defects


def test_multipart_without_boundary_parameter(mail: Mail) -> None:
    parsed = _ok(mail("plain words", headers={"Content-Type": "multipart/mixed"}))
    assert "plain words" in parsed.text


@pytest.mark.parametrize(
    ("charset", "payload", "expected"),
    [
        ("x-unknown-charset", "Grüße".encode(), "Grüße"),
        ("x-unknown-charset", "Grüße".encode("latin-1"), "Grüße"),
        ("base64", b"plain", "plain"),  # a codec, but not a charset
        ("us-ascii", "naïve".encode(), "naïve"),  # mislabelled UTF-8
        ("utf-8", b"caf\xe9 cr\xe8me br\xfbl\xe9e", "café crème brûlée"),  # mislabelled latin-1
        ("iso-2022-jp", "日本語".encode("iso-2022-jp"), "日本語"),
        ("koi8-r", "Привет".encode("koi8-r"), "Привет"),
        ('"windows-1252"', "€ sign".encode("cp1252"), "€ sign"),
    ],
)
def test_charsets(mail: Mail, charset: str, payload: bytes, expected: str) -> None:
    raw = mail(payload, headers={"Content-Type": f"text/plain; charset={charset}"})
    assert _ok(raw).text.strip() == expected


def test_rfc2047_subject_and_names(mail: Mail) -> None:
    raw = mail(
        "x",
        subject="=?UTF-8?Q?Bestellung_=C3=BCber?= =?UTF-8?B?IMOEcmdlcg==?= now",
        sender="=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
    )
    parsed = _ok(raw)
    assert parsed.subject == "Bestellung über Ärger now"
    assert (parsed.from_name, parsed.from_address) == ("André Pirard", "pirard@vm1.ulg.ac.be")


def test_rfc2047_split_multibyte_character(mail: Mail) -> None:
    # "é" (C3 A9) split across two encoded words.
    parsed = _ok(mail("x", subject="=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?="))
    assert parsed.subject == "café"


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ("attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf", "€ rates.pdf"),
        (
            "attachment; filename*0*=UTF-8''Rechnung%20M%C3%A4rz; filename*1=\" 2024.pdf\"",
            "Rechnung März 2024.pdf",
        ),
        ("attachment; filename*=iso-8859-1'de'Gr%FC%DFe.txt", "Grüße.txt"),
        ('attachment; filename="=?UTF-8?B?0J/RgNC40LLQtdGCLnBkZg==?="', "Привет.pdf"),
        ('attachment; filename="=?iso-8859-1?Q?r=E9sum=E9.doc?="', "résumé.doc"),
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ("attachment; filename*=x-bogus''abc.txt", "abc.txt"),
    ],
)
def test_rfc2231_and_rfc2047_filenames(mail: Mail, disposition: str, expected: str) -> None:
    parts = [
        b"Content-Type: text/plain\r\n\r\nsee attachment",
        b"Content-Type: application/octet-stream\r\nContent-Disposition: "
        + disposition.encode()
        + b"\r\n\r\ndata",
    ]
    parsed = _ok(_mime_mail(mail, parts))
    assert [a.filename for a in parsed.attachments] == [expected]


def test_25_mb_attachment_is_counted_not_kept(mail: Mail) -> None:
    big = os.urandom(25 * 1024 * 1024)
    parts = [
        b"Content-Type: text/plain\r\n\r\nsee attached",
        b"Content-Type: application/pdf\r\nContent-Disposition: attachment; "
        b"filename=big.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(big),
        b"Content-Type: text/csv\r\nContent-Disposition: attachment; filename=small.csv"
        b"\r\n\r\na,b\r\n1,2",
    ]
    start = time.perf_counter()
    parsed = _ok(_mime_mail(mail, parts))
    assert time.perf_counter() - start < 30
    large, small = parsed.attachments
    assert (large.filename, large.size, large.content) == ("big.pdf", len(big), None)
    assert small.content == b"a,b\r\n1,2"
    assert parsed.text.strip() == "see attached"


def test_attachment_limit_is_configurable(mail: Mail) -> None:
    parts = [
        b"Content-Type: text/plain\r\n\r\nhi",
        b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
        b"filename=x.bin\r\n\r\n" + b"a" * 100,
    ]
    (attachment,) = _ok(_mime_mail(mail, parts), max_attachment_bytes=10).attachments
    assert attachment.size == 100 and attachment.content is None


def _nested_rfc822(depth: int) -> bytes:
    inner = b"From: a@b.example\r\nSubject: core\r\n\r\nhello\r\n"
    for level in range(depth):
        inner = (
            b"From: a@b.example\r\nSubject: level %d\r\nContent-Type: message/rfc822\r\n\r\n"
            % level
        ) + inner
    return inner


@pytest.mark.parametrize("depth", [30, 200, 3000])
def test_nested_message_rfc822_bomb(depth: int) -> None:
    start = time.perf_counter()
    result = parse_email(_nested_rfc822(depth))
    assert time.perf_counter() - start < 10
    if isinstance(result, Quarantined):
        assert "nested" in result.reason
    else:
        assert "DepthLimitReached" in result.defects
        assert all(a.size < 100_000 for a in result.attachments)


def test_shallow_forward_is_kept_as_eml() -> None:
    parsed = _ok(_nested_rfc822(2))
    (forwarded,) = parsed.attachments
    assert forwarded.content_type == "message/rfc822"
    assert forwarded.filename == "level 0.eml"
    assert forwarded.content is not None and b"hello" in forwarded.content


def test_part_count_is_capped(mail: Mail) -> None:
    parts = [b"Content-Type: application/octet-stream\r\n\r\nAA"] * 2000
    parsed = _ok(_mime_mail(mail, parts), max_parts=100)
    assert "PartLimitReached" in parsed.defects
    assert len(parsed.attachments) < 100


def test_forwarded_mail_is_not_trimmed(mail: Mail) -> None:
    text = (
        "Please see below.\n\n-----Original Message-----\nFrom: Shop\nSent: Monday\n"
        "To: Bob\nSubject: Your order\n\nYour order was cancelled.\n"
    )
    assert "cancelled" in _ok(mail(text, subject="Fwd: Your order")).reply_text
    assert "cancelled" not in _ok(mail(text, subject="Re: Your order")).reply_text
