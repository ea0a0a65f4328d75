"""The route table: the one list of every HTTP endpoint (the OpenAPI test checks it)."""

from __future__ import annotations

from aiohttp import web

from contactcenter.api import (
    agents,
    conversations,
    customers,
    deliveries,
    messages,
    openapi,
    ops,
)

V1 = "/api/v1"


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", ops.healthz)
    app.router.add_get("/metrics", ops.metrics)
    app.router.add_get(f"{V1}/openapi.json", openapi.get_openapi)
    app.router.add_post(f"{V1}/messages", messages.post_message)

    app.router.add_get(f"{V1}/conversations", conversations.list_conversations)
    app.router.add_get(f"{V1}/conversations/{{id}}", conversations.get_conversation)
    app.router.add_post(f"{V1}/conversations/{{id}}/messages", conversations.post_message)
    app.router.add_post(f"{V1}/conversations/{{id}}/assign", conversations.assign)
    app.router.add_post(f"{V1}/conversations/{{id}}/resolve", conversations.resolve)
    app.router.add_post(f"{V1}/conversations/{{id}}/reopen", conversations.reopen)
    app.router.add_post(f"{V1}/conversations/{{id}}/tags", conversations.tags)

    app.router.add_get(f"{V1}/customers", customers.list_customers)
    app.router.add_get(f"{V1}/customers/{{id}}", customers.get_customer)
    app.router.add_post(f"{V1}/customers/{{id}}/merge", customers.merge)
    app.router.add_post(f"{V1}/merges/{{merge_id}}/undo", customers.undo_merge)
    app.router.add_post(f"{V1}/identities/{{identity_id}}/split", customers.split_identity)
    app.router.add_get(f"{V1}/merge-suggestions", customers.list_merge_suggestions)

    app.router.add_get(f"{V1}/agents", agents.list_agents)
    app.router.add_post(f"{V1}/agents", agents.create_agent)
    app.router.add_get(f"{V1}/agents/{{id}}", agents.get_agent)
    app.router.add_patch(f"{V1}/agents/{{id}}", agents.update_agent)

    app.router.add_get(f"{V1}/deliveries", deliveries.list_deliveries)
    app.router.add_post(f"{V1}/deliveries/{{id}}/retry", deliveries.retry)
