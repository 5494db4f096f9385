# syntax=docker/dockerfile:1
# nps-api: multi-stage, slim, non-root. Runs against real servers: NPS_DATABASE_URL,
# NPS_REDIS_URL and NPS_ADMIN_TOKEN come from the environment.
#   docker run … IMAGE                     -> nps migrate, then nps serve
#   docker run … IMAGE counters verify     -> any other `nps` command

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
# Dependencies first (their layer survives source edits), pinned and hash-checked.
COPY requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install --require-hashes -r /tmp/requirements.lock
# The project itself: its dependencies are already in; setuptools comes from the lock.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api ./api
COPY domain ./domain
COPY infra ./infra
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation . \
    && /opt/venv/bin/python -c "import api.cli, infra.postgres.migrate"

FROM python:3.11-slim
RUN groupadd --system nps \
    && useradd --system --gid nps --home-dir /app --no-create-home --shell /usr/sbin/nologin nps
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NPS_HOST=0.0.0.0 \
    NPS_PORT=8000 \
    NPS_WORKERS=2 \
    NPS_LOG_FORMAT=json
WORKDIR /app
USER nps
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('NPS_PORT', '8000')}/health/live\", timeout=2)"]
# No arguments: migrate, then serve (exec: nps gets SIGTERM from `docker stop`).
# With arguments: run that nps command instead (`docker compose run api tenants create …`).
ENTRYPOINT ["sh", "-c", "if [ $# -gt 0 ]; then exec nps \"$@\"; fi; : \"${NPS_ADMIN_TOKEN:?NPS_ADMIN_TOKEN must be set}\"; nps migrate && exec nps serve", "nps"]
