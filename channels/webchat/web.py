"""GET /widget.js and GET /chat: the widget and a demo page that embeds it.

Both are public (the core's token middleware guards only /api/ paths). The
files are read once at app build time; the demo page is sent with a strict
Content-Security-Policy so it also shows that the widget needs no inline script
and no third-party origin.
"""

from __future__ import annotations

import html
from importlib import resources

from aiohttp import web

CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def add_routes(app: web.Application, *, title: str) -> None:
    widget = _static("widget.js").encode()
    page = _static("chat.html").replace("{{title}}", html.escape(title, quote=True)).encode()

    async def get_widget(request: web.Request) -> web.Response:
        return web.Response(
            body=widget,
            content_type="application/javascript",
            charset="utf-8",
            headers={
                "Cache-Control": "public, max-age=300",
                "X-Content-Type-Options": "nosniff",
                # Any site may load the script; it opens a socket back to us.
                "Access-Control-Allow-Origin": "*",
            },
        )

    async def get_chat(request: web.Request) -> web.Response:
        return web.Response(
            body=page,
            content_type="text/html",
            charset="utf-8",
            headers={
                "Content-Security-Policy": CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-cache",
            },
        )

    app.router.add_get("/widget.js", get_widget)
    app.router.add_get("/chat", get_chat)
