"""The ASGI entry point for running Nexus under any ASGI server::

    hypercorn nexus.asgi:app

Settings come from the environment (``NEXUS_CONFIG``, ``.env``, ``NEXUS_*``), as for the CLI.
Run alone, it applies the migrations first when ``database.migrate_on_start`` is true, and
otherwise refuses, in one line, to start on a database that lacks some. ``nexus serve`` uses
this module itself when it runs several worker processes.
"""

from nexus.server import asgi_app

app = asgi_app()
