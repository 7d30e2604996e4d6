# risk-service container image (SPEC §5, issue 3 item 6).
#
# Both stages use the same base, pinned by digest: a tag moves, a digest does not. They must stay
# identical because the venv built in the first stage points at the base image's interpreter.
# python:3.11-slim-bookworm (Python 3.11.16), multi-arch index digest.

# ---- builder: install the hashed runtime lock and the project's wheel into a venv --------------
FROM python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91 AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /build

# Dependencies first, in their own layer, so a source change does not reinstall them.
# --only-binary: no sdist is built here, so nothing compiles with unpinned build tools.
# --no-deps: the lock pins every transitive package; pip check proves it is complete.
COPY requirements/runtime.lock requirements/runtime.lock
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: --no-deps \
        --requirement requirements/runtime.lock \
    && /opt/venv/bin/pip check

COPY pyproject.toml README.md ./
COPY src/ src/
# Build the wheel (hatchling, pinned in pyproject.toml) and install it without dependencies: the
# lock above already holds them all. pip and setuptools are then removed: nothing installs at run
# time, and they only add attack surface.
RUN /opt/venv/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /build/dist . \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps /build/dist/risk_service-*.whl \
    && /opt/venv/bin/pip uninstall --yes pip setuptools

# ---- runtime: the base image plus the venv, nothing else -----------------------------------------
FROM python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91 AS runtime

LABEL org.opencontainers.image.title="risk-service" \
      org.opencontainers.image.description="Value-at-Risk engine and HTTP service"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

# A fixed numeric UID/GID, so Kubernetes' runAsNonRoot can verify it and volume ownership is stable.
RUN groupadd --system --gid 10001 risk \
    && useradd --system --uid 10001 --gid 10001 --home-dir /srv/risk-service --create-home \
        --shell /usr/sbin/nologin risk

COPY --from=builder /opt/venv /opt/venv

# The working directory is the user's home, so the default SQLite file is writable.
WORKDIR /srv/risk-service
USER 10001:10001

EXPOSE 8000

# Liveness only (/healthz); readiness (/readyz) is the orchestrator's probe. No curl in slim:
# urlopen raises on a non-2xx answer or a refused connection, which exits non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]

# The default command serves the API on loopback only; the same image runs the other
# subcommands (e.g. `docker run IMAGE daily-run --date 2026-11-25`, `docker run IMAGE db upgrade`).
# The service fails closed (issue 8, finding 9): outside a source checkout it refuses to start
# without an explicit RISK_SERVICE_ENVIRONMENT, and dev mode (no authentication) refuses a
# non-loopback address. To serve other hosts, run staging or prod (bearer tokens required) with
# `serve --host 0.0.0.0`, as the rendered Kubernetes manifests do.
ENTRYPOINT ["risk-service"]
CMD ["serve", "--host", "127.0.0.1", "--port", "8000"]
