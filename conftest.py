"""The repository's own test runs use PostgreSQL and Redis, as CI provides them; plugin
authors using the kit elsewhere default to SQLite and the embedded Redis instead.

NEXUS_TEST_DATABASE and NEXUS_TEST_REDIS override these (see nexus/testing/backends.py).
``NEXUS_TEST_DATABASE=sqlite`` runs the tests that need no PostgreSQL: the cross-process tests
(those using the ``cluster_env`` fixture) are deselected, and pytest's summary counts them.
"""

import os

os.environ.setdefault("NEXUS_TEST_DATABASE", "postgres://postgres@127.0.0.1:5432/test")
os.environ.setdefault("NEXUS_TEST_REDIS", "redis://127.0.0.1:6379/0")


def pytest_collection_modifyitems(config, items):
    if os.environ["NEXUS_TEST_DATABASE"] not in ("", "sqlite"):
        return
    needs_postgres = [item for item in items if "cluster_env" in getattr(item, "fixturenames", ())]
    if needs_postgres:
        config.hook.pytest_deselected(items=needs_postgres)
        items[:] = [item for item in items if item not in needs_postgres]
