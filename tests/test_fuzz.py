"""Schemathesis against a real ``nexus serve`` on PostgreSQL and Redis: every operation of the
OpenAPI document, with valid and invalid examples, must never answer 5xx, and every answer
must be one the document lists, in the shape it documents (error responses included).

The number of examples per operation is bounded (``NEXUS_FUZZ_EXAMPLES``, default 12) and
derandomized, so the suite stays quick and repeatable; a longer run by hand is the same test
with more examples, fresh random ones (``NEXUS_FUZZ_RANDOM=1``), printing its request count:

    NEXUS_FUZZ_EXAMPLES=500 NEXUS_FUZZ_RANDOM=1 .venv/bin/python -m pytest tests/test_fuzz.py -q -s
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from nexus_channel_example import SIGNATURE_HEADER, sign
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from nexus.accounts import Accounts
from nexus.app import create_app
from nexus.config import Settings
from nexus.db import close_database, models, open_database
from nexus.testing.backends import truncate
from tests.conftest import CHAT_SECRET, free_port, message_event
from tests.helpers import NexusProcess

EXAMPLES = int(os.environ.get("NEXUS_FUZZ_EXAMPLES", "12"))
DERANDOMIZE = not os.environ.get("NEXUS_FUZZ_RANDOM")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Operations that revoke the token they are called with: they get a throwaway token of a
#: second admin, so the fuzzing admin's token survives the run.
SELF_REVOKING = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/me/tokens/{token_id}")}


@dataclass
class FuzzTarget:
    url: str
    token: str
    spare_id: int
    statuses: Counter[int] = field(default_factory=Counter)

    def headers_for(self, method: str, path: str) -> dict[str, str]:
        token = self.throwaway_token() if (method, path) in SELF_REVOKING else self.token
        return {"Authorization": f"Bearer {token}"}

    def throwaway_token(self) -> str:
        auth = {"Authorization": f"Bearer {self.token}"}
        requests.patch(f"{self.url}/api/v1/agents/{self.spare_id}", json={"is_active": True, "role": "admin"},
                       headers=auth, timeout=30)
        answer = requests.post(f"{self.url}/api/v1/agents/{self.spare_id}/tokens", json={"name": "throwaway"},
                               headers=auth, timeout=30)
        assert answer.status_code == 201, answer.text
        return answer.json()["token"]


def _signed(*events: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"events": list(events)}).encode()
    return body, {SIGNATURE_HEADER: sign(body, CHAT_SECRET), "Content-Type": "application/json"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fuzz_target(nexus_backends, tmp_path_factory) -> Iterator[FuzzTarget]:
    if not nexus_backends.redis_url or nexus_backends.dialect != "postgres":
        pytest.fail("the fuzzing test needs PostgreSQL and Redis (NEXUS_TEST_DATABASE, NEXUS_TEST_REDIS)")
    await truncate(nexus_backends.database_url)
    ctx = await open_database(nexus_backends.database_url)
    accounts = Accounts(3600)
    admin = await accounts.create_agent(email="fuzz@example.com", name="Fuzz", role="admin", password="fuzz password")
    spare = await accounts.create_agent(email="spare@example.com", name="Spare", role="admin")
    agent = await accounts.create_agent(email="agent@example.com", name="Agent", password="agent password")
    team = await models.Team.create(name="Support")
    await agent.teams.add(team)
    await models.CannedResponse.create(shortcut="hi", title="Hello", body="Hello {{contact.name}}")
    token = (await accounts.issue_token(admin, "fuzz", ttl=0)).token
    port = free_port()
    env = {
        "DATABASE_URL": nexus_backends.database_url, "REDIS_URL": nexus_backends.redis_url,
        "NEXUS_REDIS__NAMESPACE": nexus_backends.namespace(), "NEXUS_DATABASE__MIGRATE_ON_START": "false",
        "NEXUS_CHANNELS__CHAT__TYPE": "example", "NEXUS_CHANNELS__CHAT__API_URL": f"http://127.0.0.1:{free_port()}",
        "NEXUS_CHANNELS__CHAT__TOKEN": "chat-token", "NEXUS_CHANNELS__CHAT__SECRET": CHAT_SECRET,
        "NEXUS_LOGGING__LEVEL": "WARNING", "NEXUS_DELIVERY__MAX_ATTEMPTS": "1",
    }
    process = NexusProcess(["serve", "--port", str(port)], cwd=tmp_path_factory.mktemp("fuzz"), env=env, port=port)
    process.start().wait_ready()
    try:
        url = process.url
        for index, sender in enumerate(["alice", "bob", "carol"]):
            body, headers = _signed(message_event(f"seed-{index}", sender, f"Hello from {sender}"))
            assert requests.post(f"{url}/webhooks/example/chat", data=body, headers=headers, timeout=30).status_code == 200
        auth = {"Authorization": f"Bearer {token}"}
        tickets = requests.get(f"{url}/api/v1/tickets", headers=auth, timeout=30).json()["items"]
        requests.patch(f"{url}/api/v1/tickets/{tickets[0]['id']}", json={"team_id": team.id}, headers=auth, timeout=30)
        requests.post(f"{url}/api/v1/tickets/{tickets[1]['id']}/messages", json={"text": "a note", "private": True},
                      headers=auth, timeout=30)
        requests.post(f"{url}/api/v1/tickets/{tickets[1]['id']}/messages", headers=auth, timeout=30, json={
            "text": "with a file", "attachments": [{"filename": "a.txt", "content_type": "text/plain", "data": "aGk="}]})
        target = FuzzTarget(url, token, spare.id)
        yield target
        print(f"\nfuzzing: {sum(target.statuses.values())} requests, by status {dict(sorted(target.statuses.items()))}")
    finally:
        process.stop()
        await close_database(ctx)
    assert "Traceback" not in process.log(), process.log()


def openapi_document() -> dict[str, Any]:
    """The document, from the app itself: the operations are known when tests are collected."""
    async def fetch() -> dict[str, Any]:
        response = await create_app(Settings()).test_client().get("/openapi.json")
        return await response.get_json()

    return asyncio.run(fetch())


def can_be_invalid(operation: Any) -> bool:
    """Whether some input of ``operation`` can break its schema (a path of plain strings,
    such as a webhook's, cannot)."""
    definition = operation.definition.raw
    if "requestBody" in definition:
        return True
    return any(set(parameter.get("schema", {})) - {"type"} or parameter.get("schema", {}).get("type") != "string"
               or parameter["in"] != "path" for parameter in definition.get("parameters", []))


SCHEMA = schemathesis.openapi.from_dict(openapi_document())
CASES = [
    pytest.param(operation, mode, id=f"{mode.value}-{operation.method.upper()} {operation.path}")
    for operation in (result.ok() for result in SCHEMA.get_all_operations())
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode == GenerationMode.POSITIVE or can_be_invalid(operation)
]


@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_the_api_never_fails_and_answers_as_documented(operation, mode, fuzz_target: FuzzTarget):
    headers = fuzz_target.headers_for(operation.method.upper(), operation.path)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def call(case) -> None:
        response = case.call(base_url=fuzz_target.url, headers=headers, timeout=60)
        fuzz_target.statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    call()
