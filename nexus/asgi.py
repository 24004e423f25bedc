"""The ASGI entry point for running Nexus under any ASGI server::

    hypercorn nexus.asgi:app

Settings come from the environment (``NEXUS_CONFIG``, ``.env``, ``NEXUS_*``), as for the CLI.
``nexus serve`` uses this module itself when it runs several worker processes.
"""

from nexus.app import create_app
from nexus.server import options_from_environment

app = create_app(options=options_from_environment()).asgi  # type: ignore[attr-defined]
