"""The ``contactcenter`` command: serve, migrate, and the other packages' subcommands.

Other packages add subcommands through the ``contactcenter.commands`` entry-point
group: each entry point is a function ``register(subparsers)`` that adds its
parser and sets ``func`` (a callable taking the parsed args, returning an exit code).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from contactcenter import __version__
from contactcenter.config import ConfigError, Settings, load_settings

COMMAND_GROUP = "contactcenter.commands"
log = logging.getLogger("contactcenter")


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    overrides = {
        "data_dir": getattr(args, "data_dir", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        **extra,
    }
    return load_settings(getattr(args, "config", None), overrides=overrides)


def _secrets(settings: Settings) -> list[str]:
    values = [settings.api_token or "", settings.webhook_secret or ""]
    for section in settings.channel_config.values():
        values += [
            str(v)
            for k, v in section.items()
            if any(m in k.lower() for m in ("token", "secret", "password"))
        ]
    return [v for v in values if v]


def demo_settings(settings: Settings) -> Settings:
    """The quick start: web chat on, the knowledge-base answerer with the demo articles.

    Named by entry point ("webchat", "kb") so the core still imports no package of its
    own. Anything the operator configured wins.
    """
    answerer = settings.answerer or "kb"
    kb = {"articles": "demo", **settings.channel(answerer)}
    configs = {**settings.channel_config, answerer: kb}
    channels = settings.channels
    if "webchat" not in channels:
        channels = (*channels, "webchat")
    return replace(settings, answerer=answerer, channel_config=configs, channels=channels)


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from contactcenter.app import create_app
    from contactcenter.logs import setup_logging
    from contactcenter.runtime import tune_gc

    tune_gc()
    settings = _settings(args, demo=True if args.demo else None)
    if settings.demo:
        settings = demo_settings(settings)
    setup_logging(settings.log_level, settings.log_format, _secrets(settings))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings)
    log.info("starting", extra={"settings": settings.redacted()})
    token_file = settings.data_dir / "api_token"
    if not settings.api_token:
        log.info("API token kept in %s (mode 0600)", token_file.resolve())
    print(
        f"contactcenter {__version__} on http://{settings.host}:{settings.port}/ "
        f"(chat: /chat, help center: /help, API token: "
        f"{'CONTACTCENTER_API_TOKEN' if settings.api_token else token_file.resolve()})",
        flush=True,
    )
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
        handle_signals=True,
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from contactcenter.storage.database import Database
    from contactcenter.storage.migrate import current_revision, head_revision, upgrade

    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> str | None:
        db = Database(settings.resolved_database_url, schema=settings.database_schema)
        try:
            await upgrade(db, args.revision)
            return await current_revision(db)
        finally:
            await db.dispose()

    revision = asyncio.run(run())
    print(f"database at revision {revision} (head {head_revision()})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contactcenter",
        description="Omnichannel contact center and chat bot: "
        "web chat, email, knowledge base, agents on Slack.",
    )
    parser.add_argument("--version", action="version", version=f"contactcenter {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML configuration file")
    common.add_argument("--data-dir", type=Path, help="data directory (default ./data)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the server")
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default 8080)")
    serve.add_argument(
        "--demo", action="store_true", help="load the demo knowledge base if the database has none"
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", parents=[common], help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="heads")
    migrate.set_defaults(func=cmd_migrate)

    for ep in entry_points(group=COMMAND_GROUP):
        try:
            ep.load()(sub, common)
        except Exception as exc:  # a broken plugin must not take the CLI down
            print(f"warning: subcommand plugin {ep.name!r} failed to load: {exc}", file=sys.stderr)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
