"""Nexus installed the way docs/operations.md says, from the wheels `python3 dev.py build`
makes: the packages are publishable, the migrations ship inside the host's wheel, and a
plugin's own tests pass against the installed distributions, away from this checkout."""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT, clean_env

DISTRIBUTIONS = ("nexus_helpdesk", "nexus_helpdesk_whatsapp", "nexus_helpdesk_telegram", "nexus_helpdesk_email",
                 "nexus_helpdesk_webchat", "nexus_channel_example")
UV = Path(sys.executable).parent / "uv"


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, str(ROOT / "dev.py"), "build", "--out-dir", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return out


def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_dev_py_build_makes_a_wheel_and_an_sdist_of_every_distribution(dist):
    built = sorted(path.name for path in [*dist.glob("*.whl"), *dist.glob("*.tar.gz")])
    assert built == sorted([f"{name}-0.1.0-py3-none-any.whl" for name in DISTRIBUTIONS]
                           + [f"{name}-0.1.0.tar.gz" for name in DISTRIBUTIONS])


def test_the_packages_are_publishable(dist):
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted([*dist.glob("*.whl"), *dist.glob("*.tar.gz")]))],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2 * len(DISTRIBUTIONS)
    for wheel in dist.glob("*.whl"):
        meta = metadata(wheel)
        assert meta["License-Expression"] == "MIT", wheel.name
        assert meta["License-File"] == "LICENSE", wheel.name
        assert meta["Requires-Python"] == ">=3.11", wheel.name
        assert meta["Description-Content-Type"] == "text/markdown", wheel.name
        assert len(meta.get_payload()) > 500, f"{wheel.name} has a long description"
        classifiers = meta.get_all("Classifier")
        assert "Programming Language :: Python :: 3.11" in classifiers and "Framework :: AsyncIO" in classifiers
        assert any(url.startswith("Source, https://") for url in meta.get_all("Project-URL")), wheel.name
        with zipfile.ZipFile(wheel) as archive:
            assert any(n.endswith(".dist-info/licenses/LICENSE") for n in archive.namelist()), wheel.name


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory) -> Path:
    """A fresh virtualenv with the built wheels, and their dependencies at uv.lock's versions."""
    home = tmp_path_factory.mktemp("venv")
    venv = home / "venv"
    subprocess.run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    pins = home / "requirements.txt"
    # The runtime dependencies and the testing extra (what `nexus-helpdesk[testing]` brings), no dev tools.
    subprocess.run([str(UV), "export", "--frozen", "--all-packages", "--no-emit-workspace", "--no-hashes", "--no-dev",
                    "--all-extras", "--quiet",
                    "--output-file", str(pins)], cwd=ROOT, check=True, timeout=120)
    # Not --offline: `dev.py sync` fills uv's cache with wheels but not with the index pages that
    # `uv pip install` consults, so a fresh machine must ask PyPI (the versions are still uv.lock's).
    result = subprocess.run([str(UV), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
                             "-r", str(pins), *map(str, sorted(dist.glob("*.whl")))],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return venv


def run_installed(venv: Path, args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, env=clean_env(), capture_output=True,
                          text=True, timeout=600, **kwargs)


def test_the_installed_host_migrates_a_fresh_database_from_its_wheel(installed, tmp_path):
    found = run_installed(installed, ["python", "-c", "import nexus.db.migrations as m; print(m.migrations_root())"], tmp_path)
    assert found.stdout.strip().startswith(str(installed)), "the migrations come from the installed package"
    migrated = run_installed(installed, ["nexus", "migrate"], tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    count = len(list((ROOT / "migrations" / "sqlite" / "nexus").glob("*.py")))
    assert migrated.stdout.startswith(f"applied {count} migration(s): 0_"), migrated.stdout
    again = run_installed(installed, ["nexus", "migrate", "--check"], tmp_path)
    assert (again.returncode, again.stdout) == (0, "the database is up to date\n")


def test_the_installed_plugins_are_found(installed, tmp_path):
    listed = run_installed(installed, ["nexus", "plugins", "list", "--json"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    import json

    plugins = {row["name"]: (row["distribution"], row["state"]) for row in json.loads(listed.stdout)}
    assert plugins == {"email": ("nexus-helpdesk-email", "installed"), "example": ("nexus-channel-example", "installed"),
                       "telegram": ("nexus-helpdesk-telegram", "installed"),
                       "webchat": ("nexus-helpdesk-webchat", "installed"),
                       "whatsapp": ("nexus-helpdesk-whatsapp", "installed")}


def test_a_plugins_own_tests_pass_against_the_installed_wheels(installed, tmp_path):
    """The example plugin's test suite, copied away from this checkout and configured as
    docs/testing-plugins.md says, runs on the kit's defaults (SQLite, the embedded Redis)."""
    shutil.copytree(ROOT / "examples" / "channel-plugin" / "tests", tmp_path / "tests")
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = session\n"
                                         "asyncio_default_test_loop_scope = session\n")
    where = run_installed(installed, ["python", "-c", "import nexus, nexus_channel_example as e; print(nexus.__file__, e.__file__)"],
                          tmp_path)
    assert all(path.startswith(str(installed)) for path in where.stdout.split()), where.stdout
    result = run_installed(installed, ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout and "error" not in result.stdout.lower()
