"""The testing kit for Nexus and its plugins: fixtures (see :mod:`nexus.testing.pytest_plugin`),
a fake provider HTTP server, a runner for a real server, and the channel conformance suite.
``docs/testing-plugins.md`` shows them in use."""

from nexus.testing.backends import TestBackends, create_backends, drop_backends, truncate
from nexus.testing.fake_http import FakeProvider, RecordedRequest, Reply
from nexus.testing.server import ApiResponse, RunningNexus, run_nexus, wait_for

__all__ = [
    "ApiResponse",
    "FakeProvider",
    "RecordedRequest",
    "Reply",
    "RunningNexus",
    "TestBackends",
    "create_backends",
    "drop_backends",
    "run_nexus",
    "truncate",
    "wait_for",
]
