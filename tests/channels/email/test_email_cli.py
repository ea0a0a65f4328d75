"""``contactcenter email parse`` and ``contactcenter email backfill`` as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from channels.email.store import EmailStore
from contactcenter.config import Settings
from contactcenter.services import build_services

from .conftest import email_config
from .servers import Dovecot

EXE = [sys.executable, "-m", "contactcenter.cli"]


def run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXE, *args], capture_output=True, text=True, timeout=120, check=False, **kwargs
    )


def test_parse_prints_json_with_the_documented_keys(tmp_path: Path, mail: Any) -> None:
    eml = tmp_path / "reply.eml"
    eml.write_bytes(
        mail("Yes!\n\nOn Mon, Support wrote:\n> Did it work?", headers={"In-Reply-To": "<a@b>"})
    )
    out = run("email", "parse", str(eml), "--json", "--data-dir", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    for key in ("message_id", "in_reply_to", "references", "from", "subject", "reply_text",
                "text", "attachments", "auto_reply"):  # fmt: skip
        assert key in info
    assert info["reply_text"] == "Yes!" and info["in_reply_to"] == ["<a@b>"]
    human = run("email", "parse", str(eml), "--data-dir", str(tmp_path / "d"))
    assert human.returncode == 0 and "Reply text:" in human.stdout


def test_parse_of_an_unreadable_file_exits_2(tmp_path: Path) -> None:
    out = run("email", "parse", str(tmp_path / "missing.eml"))
    assert out.returncode == 2
    assert "cannot read" in out.stderr and "missing.eml" in out.stderr
    folder = run("email", "parse", str(tmp_path))
    assert folder.returncode == 2 and "cannot read" in folder.stderr


def test_parse_of_garbage_says_quarantined(tmp_path: Path) -> None:
    junk = tmp_path / "junk.eml"
    junk.write_bytes(b"\x00\x01 not mail")
    out = run("email", "parse", str(junk), "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["quarantined"] is True


def _toml(settings: Settings, email: dict[str, Any]) -> str:
    lines = [f'data_dir = "{settings.data_dir}"', f'database_url = "{settings.database_url}"']
    if settings.database_schema:
        lines.append(f'database_schema = "{settings.database_schema}"')
    lines.append("[email]")
    lines += [f"{k} = {json.dumps(v)}" for k, v in email.items()]
    return "\n".join(lines) + "\n"


async def test_backfill_reads_since_a_date_with_progress_and_is_repeatable(
    settings: Settings, dovecot: Dovecot, tmp_path: Path, mail: Any
) -> None:
    for i in range(3):
        await dovecot.append(mail(f"question {i}", headers={"Message-ID": f"<bf{i}@x.org>"}))
    await dovecot.append(b"no header here\r\n")
    config = tmp_path / "cc.toml"
    config.write_text(_toml(settings, email_config(dovecot, None)))

    out = run("email", "backfill", "--config", str(config), "--since", "2000-01-01")
    assert out.returncode == 0, out.stderr
    assert "4/4 (100%)" in out.stderr
    assert "4 mails, 3 new, 0 already stored, 1 quarantined" in out.stdout

    again = run("email", "backfill", "--config", str(config), "--since", "2000-01-01")
    assert again.returncode == 0, again.stderr
    assert "4 mails, 0 new, 3 already stored, 1 quarantined" in again.stdout

    services = build_services(settings)
    try:
        store = EmailStore(services.db)
        assert await store.count_messages() == 3
        assert await store.checkpoint("support@northwind.example") is None  # not the watcher's
        _, total = await store.quarantined()
        assert total == 1
    finally:
        await services.close()


def test_backfill_needs_a_date_and_a_known_mailbox(tmp_path: Path) -> None:
    config = tmp_path / "cc.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[email]\naddress = "support@northwind.example"\n'
        'imap_host = "127.0.0.1"\n'
    )
    out = run("email", "backfill", "--config", str(config))
    assert out.returncode == 2 and "--since" in out.stderr
    out = run("email", "backfill", "--config", str(config), "--since", "2024-01-01",
              "--mailbox", "nope")  # fmt: skip
    assert out.returncode == 2 and "no mailbox" in out.stderr
    out = run("email", "backfill", "--config", str(config), "--since", "soon")
    assert out.returncode == 2 and "not a date" in out.stderr
