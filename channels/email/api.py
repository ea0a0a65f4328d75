"""The quarantine, visible over HTTP: what could not be read, why, and the raw bytes.

Mounted on the core's web app by the channel factory under ``/api/v1/email/``,
which the core's token middleware guards like every ``/api/`` path: raw mail
is customer data.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web

from contactcenter.api.http import Handler
from contactcenter.api.openapi import OPERATIONS_ATTRIBUTE

from .blobs import BlobStore
from .store import EmailStore
from .tables import EmailQuarantine

PREFIX = "/api/v1/email"


def _error(status: int, code: str, message: str) -> web.Response:
    """The core's error shape, ``{"error": {"code", "message"}}``, built here so this
    module depends on no helper of the core's (still changing) API package."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _json(data: Any) -> web.Response:
    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    return web.json_response(data, dumps=lambda d: json.dumps(d, default=default))


def _int_query(request: web.Request, name: str, default: int, lo: int, hi: int) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        return None
    return int(raw)


def quarantine_item(row: EmailQuarantine) -> dict[str, Any]:
    return {
        "id": row.id,
        "mailbox": row.mailbox,
        "uidvalidity": row.uidvalidity,
        "uid": row.uid,
        "reason": row.reason,
        "size": row.size,
        "sha256": row.sha256,
        "created_at": row.created_at,
        "raw_url": f"{PREFIX}/quarantine/{row.id}/raw",
    }


class QuarantineViews:
    def __init__(self, store: EmailStore, blobs: BlobStore) -> None:
        self.store = store
        self.blobs = blobs

    async def list(self, request: web.Request) -> web.Response:
        limit = _int_query(request, "limit", 50, 1, 500)
        offset = _int_query(request, "offset", 0, 0, 10**9)
        if limit is None or offset is None:
            return _error(400, "bad_query", "limit must be 1..500 and offset a number >= 0")
        mailbox = request.query.get("mailbox") or None
        rows, total = await self.store.quarantined(limit=limit, offset=offset, mailbox=mailbox)
        return _json(
            {"items": [quarantine_item(r) for r in rows], "total": total, "offset": offset}
        )

    async def raw(self, request: web.Request) -> web.StreamResponse:
        raw_id = request.match_info.get("id", "")
        if not raw_id.isdigit() or len(raw_id) > 18:
            return _error(404, "not_found", f"no quarantined mail with id {raw_id[:40]!r}")
        record_id = int(raw_id)
        row = await self.store.quarantine_record(record_id)
        if row is None:
            return _error(404, "not_found", f"no quarantined mail with id {record_id}")
        try:
            path = self.blobs.path(row.raw_path)
        except ValueError:
            return _error(500, "bad_record", "the record points outside the data directory")
        if not path.exists():
            return _error(410, "gone", "the raw file of this record is missing")
        return web.FileResponse(
            path,
            headers={
                "Content-Type": "message/rfc822",
                "Content-Disposition": f'attachment; filename="quarantine-{record_id}.eml"',
            },
        )


_ERROR = {"$ref": "#/components/schemas/Error"}
_ITEM = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "mailbox": {"type": "string"},
        "uidvalidity": {"type": ["integer", "null"]},
        "uid": {"type": ["integer", "null"]},
        "reason": {"type": "string", "description": "why the mail could not be stored"},
        "sha256": {"type": "string"},
        "size": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
        "raw_url": {"type": "string", "description": "where to download the raw mail"},
    },
}
LIST_OPERATION = {
    "operationId": "listEmailQuarantine",
    "tags": ["email"],
    "summary": "Mail that could not be read or stored, with the reason (newest first)",
    "parameters": [
        {"name": n, "in": "query", "required": False, "description": d, "schema": sch}
        for n, d, sch in (
            ("limit", "1-500, default 50", {"type": "integer", "minimum": 1, "maximum": 500}),
            ("offset", "default 0", {"type": "integer", "minimum": 0}),
            ("mailbox", "only this mailbox", {"type": "string"}),
        )
    ],
    "responses": {
        "200": {
            "description": "a page of quarantined mail",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "items": {"type": "array", "items": _ITEM},
                            "total": {"type": "integer"},
                            "offset": {"type": "integer"},
                        },
                    }
                }
            },
        },
        "400": {"$ref": "#/components/responses/E400"},
        "401": {"$ref": "#/components/responses/E401"},
    },
}
RAW_OPERATION = {
    "operationId": "getEmailQuarantineRaw",
    "tags": ["email"],
    "summary": "The quarantined mail's raw bytes (message/rfc822), to inspect or re-import",
    "parameters": [
        {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": "the quarantine record's id",
        }
    ],
    "responses": {
        "200": {"description": "the raw mail", "content": {"message/rfc822": {}}},
        "401": {"$ref": "#/components/responses/E401"},
        "404": {"$ref": "#/components/responses/E404"},
        "410": {
            "description": "the raw file of this record is missing",
            "content": {"application/json": {"schema": _ERROR}},
        },
    },
}


def _documented(view: Handler, operations: dict[str, Any]) -> Handler:
    """A function view carrying its OpenAPI operations (the core collects them)."""

    async def documented_view(request: web.Request) -> web.StreamResponse:
        return await view(request)

    setattr(documented_view, OPERATIONS_ATTRIBUTE, operations)
    return documented_view


def add_routes(app: web.Application, views: QuarantineViews) -> None:
    app.router.add_get(f"{PREFIX}/quarantine", _documented(views.list, {"get": LIST_OPERATION}))
    app.router.add_get(
        f"{PREFIX}/quarantine/{{id}}/raw", _documented(views.raw, {"get": RAW_OPERATION})
    )
