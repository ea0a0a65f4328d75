"""Shared helpers for the email channel tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "email"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def _mail(
    body: str | bytes = "Hello",
    *,
    headers: dict[str, str] | None = None,
    subject: str = "Question",
    sender: str = "Bob <bob@example.org>",
) -> bytes:
    """A small RFC 5322 message; ``headers`` add to or override the defaults."""
    base = {
        "From": sender,
        "To": "support@northwind.example",
        "Subject": subject,
        "Date": "Mon, 01 Jan 2024 10:00:00 +0100",
        "Message-ID": "<m1@example.org>",
    }
    base.update(headers or {})
    head = "".join(f"{k}: {v}\r\n" for k, v in base.items() if v is not None)
    data = body if isinstance(body, bytes) else body.encode("utf-8")
    return head.encode("utf-8") + b"\r\n" + data


@pytest.fixture
def mail() -> Callable[..., bytes]:
    return _mail
