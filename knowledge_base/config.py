"""The ``[kb]`` configuration table (or ``CONTACTCENTER_KB_*`` environment variables).

Values from the environment arrive as strings, so every field is parsed here
with a message naming the key when it is unusable; the plugin fails at start
rather than serving with a half-understood configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge_base.demo import demo_articles_path

#: The value of ``articles`` that names the bundled demo help centre.
DEMO = "demo"


class KBConfigError(ValueError):
    """A ``[kb]`` setting is malformed."""


def _float(config: Mapping[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    raw = config.get(key, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise KBConfigError(f"[kb] {key} must be a number, not {raw!r}") from None
    if not lo <= value <= hi:
        raise KBConfigError(f"[kb] {key} must be within {lo}..{hi}, not {value}")
    return value


def _bool(config: Mapping[str, Any], key: str, default: bool) -> bool:
    raw = config.get(key, default)
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise KBConfigError(f"[kb] {key} must be true or false, not {raw!r}")


@dataclass(frozen=True)
class KBConfig:
    #: Articles imported when the database has none: a path (JSONL, CSV, Markdown
    #: folder) or "demo". Never re-imported once the database has articles.
    articles: Path | None = None
    #: Public search rate limit per client IP: sustained requests per second, and burst.
    search_rate: float = 2.0
    search_burst: float = 20.0
    #: Take the client IP from X-Forwarded-For (only behind a proxy you trust).
    trust_forwarded: bool = False
    #: Seconds a question waits for the index while it is being built at start.
    ready_timeout: float = 60.0
    #: Seconds the server start waits for the index before serving anyway.
    startup_wait: float = 30.0
    help_title: str = "Help center"

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> KBConfig:
        raw = config.get("articles")
        articles: Path | None = None
        if raw is not None and str(raw).strip():
            text = str(raw).strip()
            articles = demo_articles_path() if text.lower() == DEMO else Path(text).expanduser()
        title = str(config.get("help_title", cls.help_title)).strip() or cls.help_title
        return cls(
            articles=articles,
            search_rate=_float(config, "search_rate", cls.search_rate, 0.01, 10_000),
            search_burst=_float(config, "search_burst", cls.search_burst, 1, 100_000),
            trust_forwarded=_bool(config, "trust_forwarded", cls.trust_forwarded),
            ready_timeout=_float(config, "ready_timeout", cls.ready_timeout, 0, 3600),
            startup_wait=_float(config, "startup_wait", cls.startup_wait, 0, 3600),
            help_title=title[:100],
        )
