"""``nexus plugins new``: the package it writes is installable and passes its own tests, the
conformance suite against its own fake provider, straight after generation."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from nexus.testing.conformance import ChannelConformance
from tests.helpers import run_cli


def test_plugins_new_writes_a_package_named_after_the_channel_type(tmp_path):
    result = run_cli(["plugins", "new", "sms_gate", "--description", 'SMS through "Gate"'], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = tmp_path / "nexus-channel-sms-gate"
    files = sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
    assert files == [".gitignore", "README.md", "pyproject.toml", "src/nexus_channel_sms_gate/__init__.py",
                     "src/nexus_channel_sms_gate/channel.py", "tests/fake_api.py", "tests/test_conformance.py"]
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["name"] == "nexus-channel-sms-gate"
    assert project["project"]["description"] == 'SMS through "Gate"'
    assert project["project"]["entry-points"]["nexus"] == {"sms_gate": "nexus_channel_sms_gate"}
    for path in root.rglob("*"):
        if path.is_file():
            assert "{{" not in path.read_text(), f"{path} has an unfilled placeholder"
            if path.suffix == ".py":
                compile(path.read_text(), str(path), "exec")
    assert 'type_name = "sms_gate"' in (root / "src/nexus_channel_sms_gate/channel.py").read_text()
    assert str(root) in result.stdout


def test_plugins_new_refuses_a_bad_name_or_a_folder_in_use(tmp_path):
    bad = run_cli(["plugins", "new", "SMS-Gate"], cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "nexus: plugin name 'SMS-Gate': use lower-case letters, digits and _, starting with a letter "
        "(it becomes the channel type, as in type = \"sms\")"]
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    taken = run_cli(["plugins", "new", "sms", "--directory", "taken"], cwd=tmp_path)
    assert taken.returncode == 1
    assert taken.stderr.strip() == "nexus: taken already exists and is not an empty directory"
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_a_generated_plugin_installs_and_passes_its_own_tests(tmp_path):
    """Generated into a temporary folder, installed (editable, as an author does) into a fresh
    virtual environment that sees this one's packages, then its own test suite is run there, on
    this run's PostgreSQL and Redis."""
    assert run_cli(["plugins", "new", "textline"], cwd=tmp_path).returncode == 0
    package = tmp_path / "nexus-channel-textline"
    python = fresh_venv(tmp_path / "venv")
    uv = Path(sys.executable).with_name("uv")
    install = subprocess.run([str(uv), "pip", "install", "--python", str(python), "--no-deps", "-e", str(package)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    tests = subprocess.run([str(python), "-m", "pytest", "-v", "-p", "no:cacheprovider"], cwd=package, env=env,
                           capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    summary = tests.stdout.strip().splitlines()[-1]
    suite = [name for name in dir(ChannelConformance) if name.startswith("test_")]
    assert f"{len(suite)} passed" in summary and "failed" not in summary and "skipped" not in summary, summary
    assert "TestTextlineConformance::test_loads_through_its_entry_point PASSED" in tests.stdout
    assert "TestTextlineConformance::test_forged_inbound_is_refused PASSED" in tests.stdout


def fresh_venv(path: Path) -> Path:
    """A virtual environment that sees this one's site-packages (Nexus and its dependencies)
    through a ``.pth`` file, so the generated plugin installs there and nowhere else."""
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(path)],
                   check=True, timeout=120)
    python = path / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    (Path(site) / "nexus-host.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return python
