"""Probes and metrics: ``/healthz`` (the process is up), ``/readyz`` (it can serve) and
``/metrics`` (Prometheus)."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify
from quart_schema import hide

from nexus.db import models
from nexus.metrics import render
from nexus.types import DeliveryStatus
from nexus.web.context import current_nexus

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@hide
async def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
@hide
async def readyz() -> Response:
    ok, report = await current_nexus().readiness()
    if not ok:
        down = [name for name, check in report["checks"].items() if not check["ok"]]
        report["error"] = {"code": "unavailable", "message": f"not ready: {', '.join(down)} down",
                           "details": {name: report["checks"][name] for name in down}}
    response = jsonify(report)
    response.status_code = 200 if ok else 503
    return response


@blueprint.get("/metrics")
@hide
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
    return Response(render(snapshot, gauges), content_type="text/plain; version=0.0.4; charset=utf-8")
