# nps-api — every target sets itself up from the lock files; only Python >= 3.11 and make needed
# (make test also needs Node.js >= 18.18 with npm, for the spec's linters and client checks).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup run test test-scale lint typecheck unit integration contract e2e browser browsers node pgbouncer bench bench-smoke wrk openapi lock clean

setup: $(STAMP)

$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@rm -f $(VENV)/.installed-*
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

run: setup
	$(VENV)/bin/nps serve

test: setup browsers node lint typecheck
	$(PY) -m pytest -q -p no:cacheprovider

# The suites again against the engines operators scale out to, each suite on its own line.
# pytest exits 5 when it collected no test: make reports that as a failure too.
# - through PgBouncer in transaction pooling mode (tests/pgbouncer.py), integration and e2e
#   (contract and browser check the HTTP contract and pages; fault puts its own proxies in)
# - against a Redis Cluster of three masters with a replica each on loopback ports
#   (tests/redis_cluster.py), integration, then a master stopped under load (tests/scale)
test-scale: setup pgbouncer
	NPS_TEST_POOLER=pgbouncer $(PY) -m pytest -q -p no:cacheprovider tests/integration tests/e2e
	NPS_TEST_REDIS_CLUSTER=1 $(PY) -m pytest -q -p no:cacheprovider tests/integration tests/scale/test_redis_cluster.py

# Debian's pgbouncer for test-scale; installed here when missing and allowed.
pgbouncer:
	@command -v pgbouncer >/dev/null || test -x /usr/sbin/pgbouncer || (command -v apt-get >/dev/null && \
		(apt-get install -y -q pgbouncer >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q pgbouncer >/dev/null))) \
		|| { echo "make test-scale needs pgbouncer: install the 'pgbouncer' package" >&2; exit 1; }

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(PY) -m pytest -q tests/unit

integration: setup
	$(PY) -m pytest -q tests/integration

contract: setup node
	$(PY) -m pytest -q tests/contract

e2e: setup
	$(PY) -m pytest -q tests/e2e

browser: setup browsers node
	$(PY) -m pytest -q tests/browser

# Browser tests drive Debian's chromium through Playwright (which never downloads a browser of
# its own). Installed here when missing and allowed; elsewhere those tests report a skip.
browsers:
	@command -v chromium >/dev/null || (command -v apt-get >/dev/null && \
		(apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null))) \
		|| echo "chromium is not installed and could not be: the browser tests will be skipped" >&2

# JavaScript test tools pinned in package-lock.json: the spec's linters and client generators,
# axe-core for the accessibility checks. No install scripts run (one only sends analytics).
# Node.js and npm come from apt-get when missing and allowed (Debian 12 has Node.js 18.19).
node: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || ! command -v apt-get >/dev/null || \
		apt-get install -y -q nodejs npm >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q nodejs npm >/dev/null) || true
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 18 || (a == 18 && b >= 18) ? 0 : 1)' 2>/dev/null \
		|| { echo "make test needs Node.js >= 18.18 with npm (OpenAPI linters, client checks)" >&2; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# Benchmarks need wrk (Debian package); installed here when missing and allowed.
wrk:
	@command -v wrk >/dev/null || (command -v apt-get >/dev/null && \
		(apt-get install -y -q wrk >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null))) \
		|| { echo "wrk is needed for benchmarks: install the 'wrk' package" >&2; exit 1; }

# Full run (30-40 minutes): writes tests/bench/results.json and the README table.
bench: setup wrk
	$(PY) -m tests.bench.run
	$(PY) -m tests.bench.report --readme >/dev/null

# The same harness at small sizes (under two minutes): proves it runs, not how fast.
bench-smoke: setup wrk
	$(PY) -m tests.bench.run --smoke

openapi: setup
	$(VENV)/bin/nps openapi

# Regenerate both lock files from pyproject.toml (needs the package registry).
lock: export CUSTOM_COMPILE_COMMAND = make lock
lock: setup
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --extra dev -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
