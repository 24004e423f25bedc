"""Probes and metrics: ``/healthz`` (the process is up), ``/readyz`` (it can serve) and
``/metrics`` (Prometheus).

``/healthz`` says nothing but "ok" and is always open. ``/readyz`` and ``/metrics`` tell more
(channel errors, queue sizes): ``server.monitoring_token`` makes them need that bearer token,
and ``server.monitoring_networks`` limits them to clients in those networks.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from quart import Blueprint, Response, jsonify, request
from quart_schema import hide

from nexus.db import models
from nexus.metrics import render
from nexus.types import DeliveryStatus
from nexus.web.context import current_nexus
from nexus.web.errors import ApiError, problems

blueprint = Blueprint("health", __name__)


def _client_allowed(networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)


def monitoring(func: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """Guard an endpoint with the monitoring token and networks, when they are set."""

    @wraps(func)
    async def guarded(*args: Any, **kwargs: Any) -> Response:
        server = current_nexus().settings.server
        if server.monitoring_networks and not _client_allowed(server.monitoring_networks):
            raise ApiError(403, "forbidden", "this address may not read the monitoring endpoints "
                                             "(server.monitoring_networks)")
        if server.monitoring_token is not None:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            expected = server.monitoring_token.get_secret_value().encode()
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
                raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <server.monitoring_token>'")
        return await func(*args, **kwargs)

    return guarded


@blueprint.get("/healthz")
@hide
async def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
@hide
@monitoring
async def readyz() -> Response:
    ok, report = await current_nexus().readiness()
    if not ok:
        down = [name for name, check in report["checks"].items() if not check["ok"]]
        report["error"] = {"code": "unavailable", "message": f"not ready: {', '.join(down)} down",
                           "details": problems({name: report["checks"][name].get("error", "down") for name in down})}
    response = jsonify(report)
    response.status_code = 200 if ok else 503
    return response


@blueprint.get("/metrics")
@hide
@monitoring
async def metrics() -> Response:
    nexus = current_nexus()
    snapshot = await nexus.metrics.snapshot()
    counts = {
        status: await models.Message.filter(status=status, private=False, direction="outbound").count()
        for status in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.FAILED)
    }
    jobs = await nexus.delivery.queue_counts()
    gauges = {
        "delivery_queued": ("Replies waiting to be sent (database).", counts[DeliveryStatus.QUEUED]),
        "delivery_active": ("Replies being sent right now (database).", counts[DeliveryStatus.SENDING]),
        "delivery_failed_messages": ("Replies that failed for good and were not retried.", counts[DeliveryStatus.FAILED]),
        "queue_jobs_queued": ("Delivery jobs waiting in Redis.", jobs.get("queued", 0)),
        "queue_jobs_active": ("Delivery jobs running in workers.", jobs.get("active", 0)),
    }
    text = render(snapshot, gauges) + (nexus.loop_lag.histogram.render() if nexus.loop_lag else "")
    return Response(text, content_type="text/plain; version=0.0.4; charset=utf-8")
