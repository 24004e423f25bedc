# Nexus with its built-in channel plugins, installed from uv.lock.
#   docker build -t nexus .
#   docker run -p 8000:8000 -e DATABASE_URL=... -e REDIS_URL=... nexus
FROM python:3.11-slim AS build
ENV UV_PROJECT_ENVIRONMENT=/opt/nexus UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
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
RUN useradd --create-home --uid 1000 nexus && mkdir -p /var/lib/nexus && chown nexus /var/lib/nexus
COPY --from=build /opt/nexus /opt/nexus
ENV PATH=/opt/nexus/bin:$PATH \
    NEXUS_DATA_DIR=/var/lib/nexus \
    NEXUS_SERVER__HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
USER nexus
WORKDIR /var/lib/nexus
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["nexus", "serve"]
