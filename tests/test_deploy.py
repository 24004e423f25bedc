"""The deployment files say what Nexus does: the Dockerfile, docker-compose.yml, .dockerignore,
.env.example and the manifests of docs/kubernetes.md, read as Docker, compose and Kubernetes
would read them (there is no container engine here), with their settings given to Nexus's own
configuration loader."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from nexus.config import load_settings
from nexus.instances import prepare
from tests.conftest import free_port
from tests.helpers import ROOT, NexusProcess, clean_env

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
NEXUS_SERVICES = ("api", "worker")


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions, ``(INSTRUCTION, arguments)``, per build stage."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def image_env() -> dict[str, str]:
    """The environment the final image sets (its ENV lines)."""
    env: dict[str, str] = {}
    for instruction, arguments in dockerfile_stages()[-1]:
        if instruction == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def interpolate(value: str, compose_env: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``."""
    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if compose_env.get(name):
            return compose_env[name]
        assert op != ":?", f"compose would stop: {arg}"
        return arg or ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def container_env(service: str, env_file: dict[str, str], compose_env: dict[str, str]) -> dict[str, str]:
    """What Nexus sees in ``service``'s container: the image's ENV, then the env_file, then
    ``environment`` (compose's precedence)."""
    definition = COMPOSE["services"][service]
    env = {**image_env(), **env_file}
    env.update({name: interpolate(str(value), compose_env) for name, value in definition.get("environment", {}).items()})
    return env


def published_container_port(service: str) -> int:
    (mapping,) = COMPOSE["services"][service]["ports"]
    return int(str(mapping).rsplit(":", 1)[1])


def test_the_attachments_volume_is_where_nexus_writes_and_belongs_to_its_user():
    final = dockerfile_stages()[-1]
    user = next(arguments for instruction, arguments in reversed(final) if instruction == "USER")
    runs = " && ".join(arguments for instruction, arguments in final if instruction == "RUN")
    storage = load_settings(environ=image_env()).settings.storage_path
    for service in NEXUS_SERVICES:
        mounts = [volume.split(":") for volume in COMPOSE["services"][service]["volumes"]]
        assert [("attachments", str(storage))] == [(name, target) for name, target, *_ in mounts], service
    assert f"mkdir -p {storage}" in runs, "the image creates the directory the volume is mounted on"
    owned = re.search(rf"chown -R {user}:{user} (\S+)", runs)
    assert owned and storage.is_relative_to(owned.group(1)), f"{storage} belongs to {user}"


def test_the_worker_does_not_inherit_the_http_health_check():
    final = dockerfile_stages()[-1]
    assert any(instruction == "HEALTHCHECK" and "/healthz" in arguments for instruction, arguments in final)
    assert COMPOSE["services"]["worker"]["command"] == ["nexus", "worker"]
    assert COMPOSE["services"]["worker"]["healthcheck"] == {"disable": True}
    assert "healthcheck" not in COMPOSE["services"]["api"], "the API keeps the image's check"


def test_a_port_in_the_env_files_cannot_move_nexus_off_the_published_port():
    settings = load_settings(environ=container_env("api", {"PORT": "9000"}, {"POSTGRES_PASSWORD": "pw", "PORT": "9000"})).settings
    assert settings.server.port == published_container_port("api")
    assert settings.server.host == "0.0.0.0"
    host_side = interpolate(str(COMPOSE["services"]["api"]["ports"][0]), {"PORT": "9000"})
    assert host_side == "9000:8000", "PORT in compose's .env picks the port on the host"


def test_the_database_password_reaches_only_postgres_and_the_database_url():
    compose_env = {"POSTGRES_PASSWORD": "s3cret-pw"}
    for service in NEXUS_SERVICES:
        definition = COMPOSE["services"][service]
        assert definition["env_file"] != ".env", "compose's own .env (its variables) must not go to the containers"
        env = container_env(service, {}, compose_env)
        holders = sorted(name for name, value in env.items() if "s3cret-pw" in value)
        assert holders == ["DATABASE_URL"], (service, holders)
        assert load_settings(environ=env).settings.database_url == "postgres://nexus:s3cret-pw@postgres:5432/nexus"
    assert COMPOSE["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_the_build_context_leaves_out_local_state_and_secrets():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "data", "dist", ".env", "nexus.env", "plugins.local", "**/node_modules"} <= ignored
    copied = [arguments.split()[0] for stage in dockerfile_stages() for instruction, arguments in stage
              if instruction == "COPY" and not arguments.startswith("--from")]
    assert not {path.rstrip("/") for path in copied} & ignored, "the Dockerfile copies nothing it ignores"


def test_the_env_example_copied_as_is_runs_on_embedded_defaults(tmp_path):
    settings = load_settings(environ={}, env_file=ROOT / ".env.example").settings
    assert settings.embedded_redis
    assert settings.database_url.startswith("sqlite://")
    assert settings.server.port == 8000


def test_the_image_health_check_finds_the_port_nexus_listens_on(tmp_path):
    final = dockerfile_stages()[-1]
    check = next(arguments for instruction, arguments in final if instruction == "HEALTHCHECK")
    command = shlex.split(check.split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"]
    port = free_port()
    with NexusProcess(["serve"], cwd=tmp_path, port=port, env={"PORT": str(port)}):
        for env in ({"PORT": str(port)}, {"NEXUS_SERVER__PORT": str(port), "PORT": "1"}):
            result = subprocess.run([sys.executable, "-c", command[2]], env=clean_env(env), capture_output=True, timeout=30)
            assert result.returncode == 0, (env, result.stderr)
        missed = subprocess.run([sys.executable, "-c", command[2]], env=clean_env({"PORT": str(free_port())}),
                                capture_output=True, timeout=30)
        assert missed.returncode != 0, "the check fails when nothing answers"


# --- docs/kubernetes.md ---------------------------------------------------------------------


def kubernetes_objects() -> dict[tuple[str, str], dict[str, Any]]:
    text = (ROOT / "docs" / "kubernetes.md").read_text()
    objects = {}
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        for document in yaml.safe_load_all(block):
            objects[(document["kind"], document["metadata"]["name"])] = document
    return objects


def pod_spec(objects: dict, name: str) -> dict[str, Any]:
    return objects[("Deployment", name)]["spec"]["template"]["spec"]


def test_the_kubernetes_manifests_probe_health_and_readiness(tmp_path):
    objects = kubernetes_objects()
    assert {("Secret", "nexus-secrets"), ("ConfigMap", "nexus-config"), ("PersistentVolumeClaim", "nexus-attachments"),
            ("Deployment", "nexus-api"), ("Deployment", "nexus-worker"), ("Service", "nexus")} <= set(objects)
    api = pod_spec(objects, "nexus-api")
    (server,) = api["containers"]
    assert server["command"] == ["nexus", "serve", "--no-delivery-worker"]
    assert server["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert server["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    env = {item["name"]: item["value"] for item in server["env"]}
    (port,) = server["ports"]
    assert port == {"name": "http", "containerPort": int(env["NEXUS_SERVER__PORT"])}
    assert [c["command"] for c in api["initContainers"]] == [["nexus", "migrate"]]

    service = objects[("Service", "nexus")]["spec"]
    assert service["selector"] == objects[("Deployment", "nexus-api")]["spec"]["template"]["metadata"]["labels"]
    assert service["ports"][0]["targetPort"] == "http"

    (worker,) = pod_spec(objects, "nexus-worker")["containers"]
    assert worker["command"] == ["nexus", "worker"]
    assert not {"livenessProbe", "readinessProbe", "ports"} & set(worker), "a worker serves no HTTP"
    for spec, container in ((api, server), (pod_spec(objects, "nexus-worker"), worker)):
        assert container["envFrom"] == [{"secretRef": {"name": "nexus-secrets"}}]
        assert spec["securityContext"]["runAsUser"] == 1000


def test_the_kubernetes_secret_and_config_are_a_valid_nexus_configuration(tmp_path):
    objects = kubernetes_objects()
    config = tmp_path / "nexus.toml"
    config.write_text(objects[("ConfigMap", "nexus-config")]["data"]["nexus.toml"])
    (server,) = pod_spec(objects, "nexus-api")["containers"]
    env = {**image_env(), **objects[("Secret", "nexus-secrets")]["stringData"],
           **{item["name"]: item["value"] for item in server["env"] if item["name"] != "NEXUS_CONFIG"}}
    setup = prepare(load_settings(config, environ=env))
    assert {name: spec.type_name for name, spec in setup.channels.items()} == {
        "support_bot": "telegram", "whatsapp_sales": "whatsapp"}
    assert not setup.settings.database.migrate_on_start, "the init container migrates"
    mounts = {m["name"]: m["mountPath"] for m in server["volumeMounts"]}
    assert mounts["attachments"] == str(setup.settings.storage_path)
    assert Path(mounts["config"]) == Path(next(i["value"] for i in server["env"] if i["name"] == "NEXUS_CONFIG")).parent
