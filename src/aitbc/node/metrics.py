"""Prometheus metrics, one registry per app so several apps can share a process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

from .models import JobRow
from .runtime import Node


class NodeMetrics:
    """Request counts and latency by route template, and jobs by state (read at scrape)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "aitbc_http_requests",
            "HTTP requests handled",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "aitbc_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.jobs = Gauge("aitbc_jobs", "Jobs by state", ["state"], registry=self.registry)
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        # The labelled children are looked up once per (method, route, status): labels()
        # validates and locks on every call, a visible share of a cheap request.
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    async def render(self, node: Node) -> bytes:
        """The Prometheus text exposition, with job counts fresh from the database."""
        async with node.reads() as session:
            rows = (
                await session.execute(
                    select(JobRow.state, func.count(JobRow.id)).group_by(JobRow.state)
                )
            ).all()
        counts = {state: int(n) for state, n in rows}
        for state in ("QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELED", "EXPIRED"):
            self.jobs.labels(state).set(counts.get(state, 0))
        return generate_latest(self.registry)
