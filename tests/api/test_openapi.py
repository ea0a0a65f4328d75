"""The OpenAPI document matches the real route table, both ways, and is well formed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp import web

from contactcenter.api.openapi import document
from contactcenter.app import create_app
from contactcenter.config import Settings
from tests.conftest import Api

METHODS = {"get", "post", "put", "patch", "delete"}


def real_routes(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path) of every /api route and /healthz, as the router has them."""
    out = set()
    for route in app.router.routes():
        resource = route.resource
        path = resource.canonical if resource is not None else ""
        if route.method == "HEAD":  # added by aiohttp for every GET
            continue
        if path.startswith("/api/") or path in ("/healthz", "/metrics"):
            out.add((route.method, path))
    return out


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, ops in doc["paths"].items()
        for method in ops
        if method in METHODS
    }


def test_document_matches_the_route_table_both_ways(tmp_path: Path) -> None:
    app = create_app(
        Settings(
            data_dir=tmp_path,
            api_token="x",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        ),
        migrate=False,
    )
    real = real_routes(app)
    doc = documented(document())
    assert ("GET", "/healthz") in real
    assert len(real) >= 20
    assert real - doc == set(), "routes missing from contactcenter/api/openapi.py"
    assert doc - real == set(), "documented routes that do not exist"


def resolve(doc: dict[str, Any], node: Any) -> Any:
    if isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = doc
        for part in ref[2:].split("/"):
            assert part in target, f"dangling $ref {ref}"
            target = target[part]
        return target
    return node


def walk_refs(doc: dict[str, Any], node: Any) -> None:
    if isinstance(node, dict):
        if "$ref" in node:
            resolve(doc, node)
        for value in node.values():
            walk_refs(doc, value)
    elif isinstance(node, list):
        for value in node:
            walk_refs(doc, value)


def test_document_is_well_formed() -> None:
    check_well_formed(document())


def check_well_formed(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    assert doc["security"] == [{"bearerAuth": []}]
    walk_refs(doc, doc)
    operation_ids = []
    for path, ops in doc["paths"].items():
        templated = set(re.findall(r"\{(\w+)\}", path))
        for method, op in ops.items():
            assert method in METHODS, (path, method)
            operation_ids.append(op["operationId"])
            assert op.get("summary"), (path, method)
            params = [resolve(doc, p) for p in op.get("parameters", [])]
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == templated, (path, method, in_path)
            for p in params:
                assert p["in"] in ("path", "query"), p
                assert "schema" in p, p
                if p["in"] == "path":
                    assert p["required"] is True, p
            assert op["responses"], (path, method)
            for status, response in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status), (path, method, status)
                assert resolve(doc, response)["description"]
            if method in ("post", "patch", "put"):
                assert "requestBody" in op or path == "/api/v1/messages", (path, method)
                body = op.get("requestBody")
                if body:
                    assert "schema" in body["content"]["application/json"], (path, method)
            public = op.get("security") == []
            if path.startswith("/api/") and not public:
                assert "401" in op["responses"], (path, method)
            if templated:
                assert "404" in op["responses"], (path, method)
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"


async def test_served_without_token_and_equal_to_the_module(api: Api) -> None:
    status, body = await api.call("GET", "/api/v1/openapi.json", auth=False)
    assert status == 200
    assert body == document()
    assert real_routes(api.client.app) == documented(body)


def app_with_packages(tmp_path: Path) -> web.Application:
    """The core plus the knowledge base and the email channel, which mount their own /api/."""
    return create_app(
        Settings(
            data_dir=tmp_path,
            api_token="x",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
            answerer="kb",
            channels=("api", "email"),
            channel_config={
                "kb": {"articles": "demo"},
                "email": {"address": "support@x.example", "secret": "s" * 32, "watch": False},
            },
        ),
        migrate=False,
    )


def test_packages_document_their_own_routes(tmp_path: Path) -> None:
    """Mounted knowledge-base and email routes are in the document, and only mounted ones."""
    app = app_with_packages(tmp_path)
    doc = document(app)
    real = real_routes(app)
    assert ("GET", "/api/v1/kb/articles") in real and ("GET", "/api/v1/email/quarantine") in real
    assert real - documented(doc) == set(), "package routes missing from the document"
    assert documented(doc) - real == set(), "documented routes that do not exist"
    check_well_formed(doc)
    # The public search says so; the article API needs the token.
    assert doc["paths"]["/api/v1/kb/search"]["get"]["security"] == []
    assert "security" not in doc["paths"]["/api/v1/kb/articles"]["get"]
    # Without the packages, none of their routes is listed.
    assert not any(p.startswith(("/api/v1/kb", "/api/v1/email")) for p in document()["paths"])
