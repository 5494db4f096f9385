# syntax=docker/dockerfile:1
# nps-api: multi-stage, slim, non-root. Needs NPS_DATABASE_URL, NPS_REDIS_URL and
# NPS_ADMIN_TOKEN; runs the migrations, then the server.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install --require-hashes -r /tmp/requirements.lock
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api ./api
COPY domain ./domain
COPY infra ./infra
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation .

FROM python:3.11-slim
RUN groupadd --system nps && useradd --system --gid nps --home-dir /app --shell /usr/sbin/nologin nps
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NPS_HOST=0.0.0.0 \
    NPS_PORT=8000 \
    NPS_WORKERS=2 \
    NPS_LOG_FORMAT=json
WORKDIR /app
USER nps
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2).status != 200)"]
CMD ["sh", "-c", "nps migrate && exec nps serve"]
