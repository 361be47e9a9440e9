"""Prometheus metrics and the access log, measured in one ASGI middleware."""

from __future__ import annotations

import logging
import time
import uuid

from litestar import Response, get
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

access_log = logging.getLogger("skiff.access")


class Metrics:
    """The process's metrics; one registry per app, so tests and replicas never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "skiff_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "skiff_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60),
            registry=self.registry,
        )


def observe(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        http_scope = scope
        started = time.perf_counter()
        status = 500
        request_id = _request_id(scope)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            metrics: Metrics = scope["app"].state.metrics
            metrics.http_requests.labels(http_scope["method"], route, str(status)).inc()
            metrics.http_latency.labels(http_scope["method"], route).observe(elapsed)
            if status >= 400 or access_log.isEnabledFor(logging.DEBUG):
                access_log.info(
                    "request",
                    extra={
                        "method": http_scope["method"],
                        "path": http_scope["path"],
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                        "request_id": request_id,
                    },
                )

    return middleware


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id" and 0 < len(value) <= 128 and value.isascii():
            return str(value.decode(errors="replace"))
    return uuid.uuid4().hex


@get("/metrics", opt={"public": True}, security=[], include_in_schema=False, sync_to_thread=False)
def metrics_endpoint(state: State) -> Response[bytes]:
    metrics: Metrics = state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


__all__ = ["Metrics", "metrics_endpoint", "observe"]
