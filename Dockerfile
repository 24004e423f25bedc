# Nexus with its built-in channel plugins, installed from uv.lock.
#   docker build -t nexus .
#   docker run -p 8000:8000 -e DATABASE_URL=... -e REDIS_URL=... nexus
# The image runs `nexus serve` as the unprivileged user `nexus`; its data (the attachments)
# live under /var/lib/nexus, which belongs to that user.
FROM python:3.11-slim AS build
ENV UV_PROJECT_ENVIRONMENT=/opt/nexus UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY pyproject.toml uv.lock README.md LICENSE ./
COPY nexus ./nexus
COPY migrations ./migrations
COPY plugins ./plugins
COPY examples ./examples
# Runtime packages only: the host and the three built-in channels, no test tools.
RUN uv sync --frozen --no-dev --no-editable --package nexus-helpdesk \
 && uv sync --frozen --no-dev --no-editable --inexact --package nexus-helpdesk-whatsapp \
 && uv sync --frozen --no-dev --no-editable --inexact --package nexus-helpdesk-telegram \
 && uv sync --frozen --no-dev --no-editable --inexact --package nexus-helpdesk-email

FROM python:3.11-slim
# The attachments directory exists in the image, owned by `nexus`: a volume mounted there
# starts with that owner, so the server can write to it.
RUN useradd --create-home --uid 1000 nexus \
 && mkdir -p /var/lib/nexus/attachments \
 && chown -R nexus:nexus /var/lib/nexus
COPY --from=build /opt/nexus /opt/nexus
ENV PATH=/opt/nexus/bin:$PATH \
    NEXUS_DATA_DIR=/var/lib/nexus \
    NEXUS_SERVER__HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
USER nexus
WORKDIR /var/lib/nexus
EXPOSE 8000
# For `nexus serve` (a `nexus worker` serves no HTTP: disable this check for it). The port
# is the one Nexus listens on: NEXUS_SERVER__PORT, else PORT, else 8000.
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import os, sys, urllib.request; port = os.environ.get('NEXUS_SERVER__PORT') or os.environ.get('PORT') or '8000'; sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status != 200)"
CMD ["nexus", "serve"]
