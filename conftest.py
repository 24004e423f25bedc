"""The repository's own test runs use PostgreSQL and Redis, as CI provides them; plugin
authors using the kit elsewhere default to SQLite and the embedded Redis instead.

NEXUS_TEST_DATABASE and NEXUS_TEST_REDIS override these (see nexus/testing/backends.py).
"""

import os

os.environ.setdefault("NEXUS_TEST_DATABASE", "postgres://postgres@127.0.0.1:5432/test")
os.environ.setdefault("NEXUS_TEST_REDIS", "redis://127.0.0.1:6379/0")
