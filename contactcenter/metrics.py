"""Prometheus metrics. One registry per app, so tests can build many apps."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_in = Counter(
            "contactcenter_messages_in_total",
            "Inbound customer messages stored, per channel",
            ["channel"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "contactcenter_messages_duplicate_total",
            "Inbound messages recognised as repeats",
            ["channel"],
            registry=self.registry,
        )
        self.messages_out = Counter(
            "contactcenter_messages_out_total",
            "Outbound messages delivered, per channel",
            ["channel"],
            registry=self.registry,
        )
        self.deliveries_failed = Counter(
            "contactcenter_deliveries_failed_total",
            "Deliveries given up on, per channel",
            ["channel"],
            registry=self.registry,
        )
        self.deliveries = Gauge(
            "contactcenter_deliveries",
            "Deliveries in the outbox by status (read at scrape)",
            ["status"],
            registry=self.registry,
        )
        self.escalations = Counter(
            "contactcenter_escalations_total",
            "Conversations handed to a human, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.bot_decisions = Counter(
            "contactcenter_bot_decisions_total",
            "Answerer decisions",
            ["decision"],
            registry=self.registry,
        )
        self.router_latency = Histogram(
            "contactcenter_router_seconds",
            "Time to handle one inbound message",
            ["channel"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self._children: dict[tuple[int, str], Any] = {}

    def child(self, metric: Counter | Histogram, value: str) -> Any:
        """``metric.labels(value)``, looked up once: prometheus_client's ``labels`` validates
        and locks on every call, 2% of a chat message's CPU at two calls a message. Every
        metric here has one label, and its values are few (channels, decisions, reasons)."""
        key = (id(metric), value)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(value)
        return found
