"""``contactcenter email parse|backfill``: the operator's tools for the email channel.

Registered through the ``contactcenter.commands`` entry point. ``parse`` shows
what the channel makes of one .eml file (threading, trimming, attachments), the
first thing to run when a customer says "my reply landed in a new ticket".
``backfill`` reads a mailbox from a date through the same path as the watcher,
without touching the watcher's checkpoint; mail already stored is skipped by
the Message-ID dedupe, so it is safe to run twice or next to the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from contactcenter.config import ConfigError, Settings, load_settings

from .cli_parse import describe, format_description
from .config import EmailConfig, MailboxConfig, parse_config, parse_date
from .secret import SECRET_FILE
from .watcher import Progress

EXIT_USAGE = 2


def register(subparsers: Any, common: argparse.ArgumentParser | None = None) -> None:
    parents = [common] if common is not None else []
    email = subparsers.add_parser("email", help="email channel tools (parse a file, backfill)")
    commands = email.add_subparsers(dest="email_command", required=True)

    parse = commands.add_parser(
        "parse", parents=parents, help="show how the channel reads one raw mail (.eml)"
    )
    parse.add_argument("file", help="the raw RFC 5322 message, or - for stdin")
    parse.add_argument("--json", action="store_true", help="print the description as JSON")
    parse.set_defaults(func=cmd_parse)

    backfill = commands.add_parser(
        "backfill", parents=parents, help="read mail since a date into the database"
    )
    backfill.add_argument("--since", help="YYYY-MM-DD (default: the mailbox's backfill_since)")
    backfill.add_argument("--mailbox", help="only this mailbox (name or address)")
    backfill.set_defaults(func=cmd_backfill)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        getattr(args, "config", None), overrides={"data_dir": getattr(args, "data_dir", None)}
    )


def _optional_email_config(args: argparse.Namespace) -> tuple[EmailConfig | None, Settings | None]:
    """The [email] settings if there are usable ones; ``parse`` works without any."""
    try:
        settings = _settings(args)
        section = settings.channel("email")
        return (parse_config(section) if section else None), settings
    except ConfigError:
        return None, None


def cmd_parse(args: argparse.Namespace) -> int:
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        print(f"error: cannot read {args.file}: {reason}", file=sys.stderr)
        return EXIT_USAGE
    config, settings = _optional_email_config(args)
    box = config.mailboxes[0] if config else None
    secret: bytes | None = None
    if config and config.secret:
        secret = config.secret.encode()
    elif settings is not None and (settings.data_dir / SECRET_FILE).exists():
        secret = (settings.data_dir / SECRET_FILE).read_text(encoding="utf-8").strip().encode()
    info = describe(
        raw,
        our_domain=(config.domain or box.domain) if config and box else "",
        our_addresses=[a for b in config.mailboxes for a in b.our_addresses] if config else [],
        secret=secret,
        max_attachment_bytes=config.max_attachment_bytes if config else 10 * 1024 * 1024,
    )
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False, default=str))
    else:
        print(format_description(info))
    return 0


class ProgressPrinter:
    """One updating line on a terminal; a line every few seconds in a log."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last = -1.0

    def __call__(self, p: Progress) -> None:
        final = p.done == p.total
        if not self.tty and not final and p.elapsed - self._last < 2.0:
            return
        self._last = p.elapsed
        pct = 100 * p.done // p.total if p.total else 100
        rate = p.done / p.elapsed if p.elapsed > 0 else 0.0
        line = (
            f"{p.mailbox}: {p.done}/{p.total} ({pct}%)  stored {p.stored}  "
            f"duplicates {p.duplicates}  quarantined {p.quarantined}  {rate:.1f}/s"
        )
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def cmd_backfill(args: argparse.Namespace) -> int:
    settings = _settings(args)
    section = settings.channel("email")
    if not section:
        print("error: no [email] configuration (see docs/EMAIL.md)", file=sys.stderr)
        return EXIT_USAGE
    config = parse_config(section)
    since_arg = parse_date("--since", args.since) if args.since else None
    boxes = [config.mailbox(args.mailbox)] if args.mailbox else list(config.mailboxes)
    if args.mailbox and args.mailbox.lower() not in (
        boxes[0].name.lower(),
        *boxes[0].our_addresses,
    ):
        print(f"error: no mailbox named {args.mailbox!r}", file=sys.stderr)
        return EXIT_USAGE
    for box in boxes:
        if since_arg is None and box.backfill_since is None:
            print(f"error: give --since ({box.name} has no backfill_since)", file=sys.stderr)
            return EXIT_USAGE
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_backfill(settings, section, boxes, since_arg))


async def _backfill(
    settings: Settings, section: Any, boxes: Sequence[MailboxConfig], since: date | None
) -> int:
    from contactcenter.services import build_services
    from contactcenter.storage.migrate import upgrade

    from .channel import build_channel
    from .imap_client import ImapError, ImapSession

    services = build_services(settings)
    code = 0
    try:
        await upgrade(services.db)
        channel = build_channel(
            section, services.db, settings.data_dir, schema=settings.database_schema
        )
        printer = ProgressPrinter(sys.stderr)
        for box in boxes:
            day = since or box.backfill_since
            assert day is not None
            print(f"{box.name}: reading {box.imap_folder} since {day}", file=sys.stderr)
            watcher = channel.watcher(box, services.router.handle, services.router.handle_many)
            session = ImapSession(box, timeout=channel.config.imap_timeout)
            try:
                await session.open()
                result = await watcher.backfill(session, day, progress=printer)
            except ImapError as exc:
                print(f"error: {box.name}: {exc}", file=sys.stderr)
                code = 1
                continue
            finally:
                await session.close()
            print(
                f"{box.name}: {result.done} mails, {result.stored} new, "
                f"{result.duplicates} already stored, {result.quarantined} quarantined "
                f"in {result.elapsed:.1f}s"
            )
    finally:
        await services.db.dispose()
    return code
