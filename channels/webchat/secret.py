"""The server secret that signs visitor tokens.

Configured (``[webchat] secret``) when several processes must accept each
other's tokens; otherwise generated once into ``data_dir/webchat_secret``, mode
0600, so tokens survive a restart of a single server and nobody else on the
machine can read the key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_NAME = "webchat_secret"


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    if configured:
        if len(configured) < 16:
            from contactcenter.config import ConfigError

            raise ConfigError("webchat.secret: use at least 16 characters")
        return configured.encode()
    path = Path(data_dir) / FILE_NAME
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together do not overwrite each other's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip().encode()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    return value.encode()
