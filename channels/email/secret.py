"""The key that signs our Message-IDs and reply tokens.

Without it a forged ``In-Reply-To: <cc.42.x@us>`` could attach a stranger's
mail to conversation 42. A configured ``secret`` wins (needed when several
processes share the work); otherwise one is generated once and kept in the
data directory with mode 0600, like the core's API token.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_FILE = "email_secret"


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    if configured:
        return configured.encode("utf-8")
    path = Path(data_dir) / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip().encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process was quicker: use its secret
        return path.read_text(encoding="utf-8").strip().encode("utf-8")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value.encode("utf-8")
