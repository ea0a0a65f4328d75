"""The OpenAPI 3.1 description of every route (``GET /api/v1/openapi.json``, no token).

tests/api/test_openapi.py checks it against the real route table both ways, so
a route added without documenting it (or documented but removed) fails the tests.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from contactcenter.api.http import PUBLIC_ATTRIBUTE, json_response

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {JSON: {"schema": schema}}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": _json(schema)}


def _err(*statuses: int) -> dict[str, Any]:
    return {str(s): {"$ref": f"#/components/responses/E{s}"} for s in statuses}


def _body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": _json(schema)}


def _path_id(name: str, what: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"the {what}'s id (digits; anything else is a 404)",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }


def _q(
    name: str, description: str, schema: dict[str, Any], *, explode: bool | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }
    if explode is not None:
        out.update(style="form", explode=explode)
    return out


def _page(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "pass as ?cursor= for the next page; null at the end",
            },
        },
    }


LIMIT = _q("limit", "page size (default 50)", {"type": "integer", "minimum": 1, "maximum": 200})
CURSOR = _q("cursor", "opaque cursor from a previous page's next_cursor", {"type": "string"})
ID = {"type": "integer", "minimum": 1}
NULLABLE_ID = {"type": ["integer", "null"], "minimum": 1}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
STR = {"type": "string"}
NULLABLE_STR = {"type": ["string", "null"]}
CONVERSATION_STATUSES = ["bot", "waiting_for_agent", "assigned", "waiting_for_customer", "resolved"]
BY_AGENT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "agent_id": {**ID, "description": "the agent who does it (recorded in the event)"}
    },
}
EMPTY = {"type": "object", "additionalProperties": False, "properties": {}}
AUTH_ERRORS = (401,)


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


SCHEMAS: dict[str, Any] = {
    "Error": _obj(
        ["error"], error=_obj(["code", "message"], code=STR, message=STR, field=STR, parameter=STR)
    ),
    "Conversation": _obj(
        ["id", "customer_id", "channel", "status", "tags", "updated_at"],
        id=ID,
        customer_id=ID,
        identity_id=ID,
        channel=STR,
        status={"type": "string", "enum": CONVERSATION_STATUSES},
        subject=NULLABLE_STR,
        assignee_id=NULLABLE_ID,
        priority=STR,
        tags={"type": "array", "items": STR},
        awaiting_feedback={"type": "boolean"},
        suggestions={"type": "array", "items": {"type": "object"}},
        created_at=TIME,
        updated_at=TIME,
        escalated_at=NULLABLE_TIME,
        first_response_at=NULLABLE_TIME,
        resolved_at=NULLABLE_TIME,
        last_customer_message_at=NULLABLE_TIME,
    ),
    "ConversationDetail": {
        "allOf": [
            _ref("Conversation"),
            _obj(
                ["messages", "events"],
                customer={"oneOf": [_ref("Customer"), {"type": "null"}]},
                assignee={"oneOf": [_ref("Agent"), {"type": "null"}]},
                messages={
                    "type": "array",
                    "items": _ref("Message"),
                    "description": "oldest first; internal notes included with internal=true",
                },
                events={"type": "array", "items": _ref("Event")},
            ),
        ]
    },
    "Message": _obj(
        [
            "id",
            "conversation_id",
            "channel",
            "direction",
            "author_kind",
            "internal",
            "text",
            "created_at",
        ],
        id=ID,
        conversation_id=ID,
        channel=STR,
        channel_message_id=NULLABLE_STR,
        direction={"type": "string", "enum": ["in", "out"]},
        author_kind={"type": "string", "enum": ["customer", "bot", "agent", "system"]},
        agent_id=NULLABLE_ID,
        internal={"type": "boolean"},
        text=STR,
        attachments={"type": "array", "items": {"type": "object"}},
        meta={"type": "object"},
        created_at=TIME,
    ),
    "TimelineMessage": {
        "allOf": [
            _ref("Message"),
            _obj(
                ["message_channel"],
                message_channel={
                    "type": "string",
                    "description": "the message's own channel ('internal' for notes); "
                    "channel is the conversation's",
                },
            ),
        ]
    },
    "Event": _obj(
        ["id", "kind", "data", "created_at"],
        id=ID,
        conversation_id=NULLABLE_ID,
        customer_id=NULLABLE_ID,
        kind=STR,
        data={"type": "object"},
        created_at=TIME,
    ),
    "Customer": _obj(
        ["id", "email_verified", "created_at"],
        id=ID,
        name=NULLABLE_STR,
        email=NULLABLE_STR,
        email_verified={"type": "boolean"},
        merged_into_id=NULLABLE_ID,
        created_at=TIME,
    ),
    "Identity": _obj(
        ["id", "customer_id", "channel", "address", "verified"],
        id=ID,
        customer_id=ID,
        channel=STR,
        address=STR,
        verified={"type": "boolean"},
        email=NULLABLE_STR,
        display_name=NULLABLE_STR,
        created_at=TIME,
    ),
    "CustomerDetail": {
        "allOf": [
            _ref("Customer"),
            _obj(
                ["merged_into", "identities", "merge_suggestions", "merges", "timeline"],
                merged_into={
                    **NULLABLE_ID,
                    "description": "set when the id asked for was merged away: "
                    "the live customer's id (shown here)",
                },
                identities={"type": "array", "items": _ref("Identity")},
                merge_suggestions={"type": "array", "items": _ref("MergeSuggestion")},
                merges={"type": "array", "items": _ref("Merge")},
                timeline={
                    **_page("TimelineMessage"),
                    "description": "messages of all the customer's conversations, oldest first",
                },
            ),
        ]
    },
    "NewCustomer": {
        "allOf": [
            _ref("Customer"),
            _obj(["identities"], identities={"type": "array", "items": _ref("Identity")}),
        ]
    },
    "Merge": _obj(
        ["id", "source_customer_id", "target_customer_id"],
        id=ID,
        source_customer_id=ID,
        target_customer_id=ID,
        identity_ids={"type": "array", "items": ID},
        conversation_ids={"type": "array", "items": ID},
        created_at=TIME,
        undone_at=NULLABLE_TIME,
    ),
    "MergeSuggestion": _obj(
        ["id", "customer_id", "other_customer_id", "reason", "status"],
        id=ID,
        customer_id=ID,
        other_customer_id=ID,
        reason=STR,
        status={"type": "string", "enum": ["open", "merged", "dismissed"]},
        created_at=TIME,
    ),
    "Agent": _obj(
        ["id", "name", "active"],
        id=ID,
        name=STR,
        email=NULLABLE_STR,
        active={"type": "boolean"},
        created_at=TIME,
    ),
    "Delivery": _obj(
        ["id", "kind", "target", "conversation_id", "status", "attempts"],
        id=ID,
        kind={"type": "string", "enum": ["message", "desk"]},
        target=STR,
        conversation_id=ID,
        message_id=NULLABLE_ID,
        recipient=NULLABLE_STR,
        payload={"type": "object"},
        status={"type": "string", "enum": ["pending", "sending", "sent", "failed"]},
        attempts={"type": "integer"},
        next_attempt_at=TIME,
        last_error=NULLABLE_STR,
        native_id=NULLABLE_STR,
        created_at=TIME,
        sent_at=NULLABLE_TIME,
    ),
    "InboundResult": _obj(
        ["message_id", "conversation_id", "customer_id", "duplicate", "status"],
        message_id=ID,
        conversation_id=ID,
        customer_id=ID,
        duplicate={"type": "boolean"},
        status=STR,
    ),
}

ERROR_TEXT = {
    400: "bad query parameter or malformed JSON",
    401: "no or invalid bearer token",
    404: "no such object (also for non-numeric or out-of-range ids)",
    409: "conflicts with the current state",
    413: "request body (or text) too large",
    422: "a body field is missing, of the wrong type, or not allowed",
}

_conversation_id = _path_id("id", "conversation")
_customer_id = _path_id("id", "customer")
_agent_id = _path_id("id", "agent")
_write_errors = (400, 401, 404, 413, 422)

PATHS: dict[str, Any] = {
    "/healthz": {
        "get": {
            "operationId": "healthz",
            "summary": "Health check (database reachable)",
            "tags": ["ops"],
            "security": [],
            "responses": {
                "200": _ok("healthy", {"type": "object"}),
                "503": _ok("database unreachable", {"type": "object"}),
            },
        }
    },
    "/metrics": {
        "get": {
            "operationId": "metrics",
            "summary": "Prometheus metrics",
            "tags": ["ops"],
            "security": [],
            "responses": {
                "200": {
                    "description": "Prometheus text format",
                    "content": {"text/plain": {"schema": STR}},
                }
            },
        }
    },
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "tags": ["ops"],
            "security": [],
            "responses": {"200": _ok("the OpenAPI document", {"type": "object"})},
        }
    },
    "/api/v1/messages": {
        "post": {
            "operationId": "postInboundMessage",
            "tags": ["messages"],
            "summary": "A customer message through the generic API channel",
            "requestBody": _body(
                _obj(
                    ["id", "from", "text"],
                    id={"type": ["string", "integer"], "description": "your id (idempotency key)"},
                    **{"from": {"type": "string", "maxLength": 320}},
                    name={"type": "string", "maxLength": 200},
                    text={"type": "string"},
                )
            ),
            "responses": {
                "201": _ok("stored", _ref("InboundResult")),
                "200": _ok("duplicate of an earlier message", _ref("InboundResult")),
                **_err(400, 401, 413, 422),
            },
        }
    },
    "/api/v1/conversations": {
        "get": {
            "operationId": "listConversations",
            "tags": ["conversations"],
            "summary": "Conversations, most recently updated first",
            "parameters": [
                _q(
                    "status",
                    "repeatable or comma list",
                    {"type": "array", "items": {"type": "string", "enum": CONVERSATION_STATUSES}},
                    explode=True,
                ),
                _q("channel", "channel name", STR),
                _q(
                    "assignee_id",
                    "agent id, or 'none' for unassigned",
                    {"oneOf": [{"type": "string", "pattern": "^[0-9]+$"}, {"const": "none"}]},
                ),
                _q("customer_id", "customer id", ID),
                _q("tag", "has this tag", {"type": "string", "maxLength": 64}),
                _q(
                    "q", "subject contains (case-insensitive)", {"type": "string", "maxLength": 200}
                ),
                CURSOR,
                LIMIT,
            ],
            "responses": {"200": _ok("a page", _page("Conversation")), **_err(400, 401)},
        }
    },
    "/api/v1/conversations/{id}": {
        "get": {
            "operationId": "getConversation",
            "tags": ["conversations"],
            "summary": "A conversation with its messages (notes flagged) and events",
            "parameters": [_conversation_id],
            "responses": {
                "200": _ok("the conversation", _ref("ConversationDetail")),
                **_err(400, 401, 404),
            },
        }
    },
    "/api/v1/conversations/{id}/messages": {
        "post": {
            "operationId": "replyToConversation",
            "tags": ["conversations"],
            "summary": "An agent reply (delivered on the conversation's channel) or internal note",
            "parameters": [_conversation_id],
            "requestBody": _body(
                {
                    **_obj(
                        ["text"],
                        text={"type": "string", "minLength": 1, "maxLength": 50000},
                        internal={"type": "boolean", "default": False},
                        agent_id={**ID, "description": "the replying agent (must exist)"},
                    ),
                    "additionalProperties": False,
                }
            ),
            "responses": {
                "201": _ok("the stored message", _ref("Message")),
                **_err(*_write_errors),
            },
        }
    },
    "/api/v1/conversations/{id}/assign": {
        "post": {
            "operationId": "assignConversation",
            "tags": ["conversations"],
            "summary": "Assign to an agent, or unassign with null",
            "parameters": [_conversation_id],
            "requestBody": _body(
                {**_obj(["agent_id"], agent_id=NULLABLE_ID), "additionalProperties": False}
            ),
            "responses": {
                "200": _ok("the conversation", _ref("Conversation")),
                **_err(*_write_errors),
            },
        }
    },
    "/api/v1/conversations/{id}/resolve": {
        "post": {
            "operationId": "resolveConversation",
            "tags": ["conversations"],
            "summary": "Resolve (409 when already resolved)",
            "parameters": [_conversation_id],
            "requestBody": _body(BY_AGENT, required=False),
            "responses": {
                "200": _ok("the conversation", _ref("Conversation")),
                **_err(*_write_errors, 409),
            },
        }
    },
    "/api/v1/conversations/{id}/reopen": {
        "post": {
            "operationId": "reopenConversation",
            "tags": ["conversations"],
            "summary": "Reopen a resolved conversation (409 otherwise)",
            "parameters": [_conversation_id],
            "requestBody": _body(BY_AGENT, required=False),
            "responses": {
                "200": _ok("the conversation", _ref("Conversation")),
                **_err(*_write_errors, 409),
            },
        }
    },
    "/api/v1/conversations/{id}/tags": {
        "post": {
            "operationId": "tagConversation",
            "tags": ["conversations"],
            "summary": "Add and/or remove tags (stored lower case, whitespace collapsed)",
            "parameters": [_conversation_id],
            "requestBody": _body(
                {
                    "type": "object",
                    "additionalProperties": False,
                    "minProperties": 1,
                    "properties": {
                        "add": {
                            "type": "array",
                            "maxItems": 50,
                            "items": {"type": "string", "minLength": 1, "maxLength": 64},
                        },
                        "remove": {
                            "type": "array",
                            "maxItems": 50,
                            "items": {"type": "string", "minLength": 1, "maxLength": 64},
                        },
                    },
                }
            ),
            "responses": {
                "200": _ok("the conversation", _ref("Conversation")),
                **_err(*_write_errors),
            },
        }
    },
    "/api/v1/customers": {
        "get": {
            "operationId": "searchCustomers",
            "tags": ["customers"],
            "summary": "Live customers, newest first; q searches name, email and addresses",
            "parameters": [
                _q("q", "case-insensitive substring", {"type": "string", "maxLength": 200}),
                CURSOR,
                LIMIT,
            ],
            "responses": {"200": _ok("a page", _page("Customer")), **_err(400, 401)},
        }
    },
    "/api/v1/customers/{id}": {
        "get": {
            "operationId": "getCustomer",
            "tags": ["customers"],
            "summary": "A customer with identities, merge suggestions and the cross-channel "
            "timeline (a merged-away id answers with the live customer)",
            "parameters": [_customer_id, CURSOR, LIMIT],
            "responses": {
                "200": _ok("the customer", _ref("CustomerDetail")),
                **_err(400, 401, 404),
            },
        }
    },
    "/api/v1/customers/{id}/merge": {
        "post": {
            "operationId": "mergeCustomer",
            "tags": ["customers"],
            "summary": "Merge this customer into another (undoable)",
            "parameters": [_customer_id],
            "requestBody": _body({**_obj(["into"], into=ID), "additionalProperties": False}),
            "responses": {
                "201": _ok("the merge record", _ref("Merge")),
                **_err(*_write_errors, 409),
            },
        }
    },
    "/api/v1/merges/{merge_id}/undo": {
        "post": {
            "operationId": "undoMerge",
            "tags": ["customers"],
            "summary": "Undo a merge",
            "parameters": [_path_id("merge_id", "merge")],
            "requestBody": _body(EMPTY, required=False),
            "responses": {
                "200": _ok("the merge record", _ref("Merge")),
                **_err(*_write_errors, 409),
            },
        }
    },
    "/api/v1/identities/{identity_id}/split": {
        "post": {
            "operationId": "splitIdentity",
            "tags": ["customers"],
            "summary": "Give one identity (and its conversations) a customer of its own",
            "parameters": [_path_id("identity_id", "identity")],
            "requestBody": _body(EMPTY, required=False),
            "responses": {
                "201": _ok("the new customer", _ref("NewCustomer")),
                **_err(*_write_errors, 409),
            },
        }
    },
    "/api/v1/merge-suggestions": {
        "get": {
            "operationId": "listMergeSuggestions",
            "tags": ["customers"],
            "summary": "Customers that look like one person (never merged silently)",
            "parameters": [
                _q(
                    "status",
                    "repeatable or comma list (default open)",
                    {
                        "type": "array",
                        "items": {"type": "string", "enum": ["open", "merged", "dismissed"]},
                    },
                    explode=True,
                ),
                _q("customer_id", "involving this customer", ID),
                CURSOR,
                LIMIT,
            ],
            "responses": {"200": _ok("a page", _page("MergeSuggestion")), **_err(400, 401)},
        }
    },
    "/api/v1/agents": {
        "get": {
            "operationId": "listAgents",
            "tags": ["agents"],
            "summary": "Agents",
            "parameters": [
                _q(
                    "active",
                    "only (in)active agents",
                    {"type": "string", "enum": ["true", "false"]},
                ),
                CURSOR,
                LIMIT,
            ],
            "responses": {"200": _ok("a page", _page("Agent")), **_err(400, 401)},
        },
        "post": {
            "operationId": "createAgent",
            "tags": ["agents"],
            "summary": "Create an agent",
            "requestBody": _body(
                {
                    **_obj(
                        ["name"],
                        name={"type": "string", "minLength": 1, "maxLength": 200},
                        email={"type": "string", "format": "email", "maxLength": 320},
                    ),
                    "additionalProperties": False,
                }
            ),
            "responses": {"201": _ok("the agent", _ref("Agent")), **_err(400, 401, 409, 413, 422)},
        },
    },
    "/api/v1/agents/{id}": {
        "get": {
            "operationId": "getAgent",
            "tags": ["agents"],
            "summary": "An agent",
            "parameters": [_agent_id],
            "responses": {"200": _ok("the agent", _ref("Agent")), **_err(400, 401, 404)},
        },
        "patch": {
            "operationId": "updateAgent",
            "tags": ["agents"],
            "summary": "Rename and/or (de)activate an agent",
            "parameters": [_agent_id],
            "requestBody": _body(
                {
                    "type": "object",
                    "additionalProperties": False,
                    "minProperties": 1,
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 200},
                        "active": {"type": "boolean"},
                    },
                }
            ),
            "responses": {"200": _ok("the agent", _ref("Agent")), **_err(*_write_errors)},
        },
    },
    "/api/v1/deliveries": {
        "get": {
            "operationId": "listDeliveries",
            "tags": ["deliveries"],
            "summary": "The outbox, newest first (e.g. ?status=failed)",
            "parameters": [
                _q(
                    "status",
                    "repeatable or comma list",
                    {
                        "type": "array",
                        "items": {
                            "type": "string",
                            "enum": ["pending", "sending", "sent", "failed"],
                        },
                    },
                    explode=True,
                ),
                _q(
                    "kind",
                    "repeatable or comma list",
                    {"type": "array", "items": {"type": "string", "enum": ["message", "desk"]}},
                    explode=True,
                ),
                _q("target", "channel or desk name", STR),
                _q("conversation_id", "of this conversation", ID),
                CURSOR,
                LIMIT,
            ],
            "responses": {"200": _ok("a page", _page("Delivery")), **_err(400, 401)},
        }
    },
    "/api/v1/deliveries/{id}/retry": {
        "post": {
            "operationId": "retryDelivery",
            "tags": ["deliveries"],
            "summary": "Put a failed delivery back in the queue (409 unless failed)",
            "parameters": [_path_id("id", "delivery")],
            "requestBody": _body(EMPTY, required=False),
            "responses": {
                "200": _ok("the delivery", _ref("Delivery")),
                **_err(*_write_errors, 409),
            },
        }
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "contactcenter API",
        "version": "1",
        "description": 'Every error is JSON: {"error": {"code", "message"}}. '
        'Lists are pages: {"items", "next_cursor"}.',
    },
    "servers": [{"url": "/"}],
    "security": [{"bearerAuth": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        "schemas": SCHEMAS,
        "responses": {
            f"E{status}": {"description": text, "content": _json(_ref("Error"))}
            for status, text in ERROR_TEXT.items()
        },
    },
}


# A package documents its own views (knowledge base, email quarantine) by setting this
# attribute on the view function: {"get": <operation>, "post": <operation>, ...}. It
# needs no import of the core for that, and its routes appear here only when mounted.
OPERATIONS_ATTRIBUTE = "openapi_operations"


def package_paths(app: web.Application) -> dict[str, dict[str, Any]]:
    """The operations packages declared on the views mounted in ``app``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        operations = getattr(route.handler, OPERATIONS_ATTRIBUTE, None)
        method = route.method.lower()
        if not isinstance(operations, dict) or method not in operations:
            continue
        resource = route.resource
        path = resource.canonical if resource is not None else ""
        operation = copy.deepcopy(operations[method])
        if getattr(route.handler, PUBLIC_ATTRIBUTE, False) is True:
            operation["security"] = []
        paths.setdefault(path, {})[method] = operation
    return paths


def document(app: web.Application | None = None) -> dict[str, Any]:
    """The core's routes, plus those of the packages mounted in ``app``."""
    doc = copy.deepcopy(DOCUMENT)
    if app is not None:
        for path, operations in package_paths(app).items():
            doc["paths"].setdefault(path, {}).update(operations)
    return doc


async def get_openapi(request: web.Request) -> web.Response:
    return json_response(document(request.app))
