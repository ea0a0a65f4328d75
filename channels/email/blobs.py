"""Content-addressed files under the data directory: attachments and quarantined mail.

Named by the SHA-256 of their content, so the same attachment arriving twice
(a re-scan after UIDVALIDITY changed, a customer re-sending a file) is stored
once, and a reference can never point at different bytes than it did. Files
are written to a temporary name and renamed, so a crash never leaves a
half-written file under a valid name.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path

ATTACHMENTS = "attachments"
QUARANTINE = "quarantine"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir)

    def path(self, ref: str) -> Path:
        """The file of a stored ref; refuses refs that would leave the data directory."""
        target = (self.root / ref).resolve()
        root = self.root.resolve()
        if root not in target.parents:
            raise ValueError(f"not a stored ref: {ref!r}")
        return target

    def _write(self, folder: str, name: str, data: bytes) -> str:
        ref = f"{folder}/{name}"
        target = self.root / ref
        if target.exists() and target.stat().st_size == len(data):
            return ref
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return ref

    async def save_attachment(self, data: bytes) -> str:
        """``attachments/<sha256>``."""
        return await asyncio.to_thread(self._write, ATTACHMENTS, sha256_hex(data), data)

    async def save_quarantined(self, data: bytes, digest: str | None = None) -> str:
        """``quarantine/<sha256>.eml``."""
        name = f"{digest or sha256_hex(data)}.eml"
        return await asyncio.to_thread(self._write, QUARANTINE, name, data)

    async def read(self, ref: str) -> bytes:
        return await asyncio.to_thread(self.path(ref).read_bytes)
