# One image for every OneStory process; the command chooses which:
#   docker build -t onestory:local .
#   docker run --rm -p 8081:8081 -e ONESTORY_DATABASE_URL=... onestory:local onestory serve record
#   docker run --rm -e ... onestory:local onestory migrate
# Configuration is ONESTORY_* environment variables only (README.md, docs/deployment.md).

# --- builder: the locked dependencies and the package, in a venv copied whole below -------
FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/onestory
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY shared shared
COPY services services
COPY gateway gateway
COPY bench bench
# requirements.lock as constraints: every package at its locked version, but only what the
# package needs at run time (the lock also pins pytest, mypy and ruff, which stay out).
RUN /opt/onestory/bin/pip install --constraint requirements.lock . \
    && /opt/onestory/bin/python -m compileall -q /opt/onestory/lib

# --- runtime: the interpreter, the venv and an unprivileged user; no compilers, no pip use --
FROM python:3.11-slim AS runtime
RUN groupadd --system --gid 10001 onestory \
    && useradd --system --uid 10001 --gid onestory --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin onestory \
    && mkdir -p /var/lib/onestory \
    && chown onestory:onestory /var/lib/onestory
COPY --from=builder /opt/onestory /opt/onestory
ENV PATH=/opt/onestory/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ONESTORY_HOST=0.0.0.0 \
    ONESTORY_DATA_DIR=/var/lib/onestory
WORKDIR /var/lib/onestory
USER 10001:10001
# gateway, record, triage, caseload, discharge, dsr (shared/cli.py SERVICES)
EXPOSE 8080 8081 8082 8083 8084 8085
# The slim image has no curl: shared.healthcheck finds the `onestory serve` process in the
# container and asks its /health/live with the standard library.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "shared.healthcheck"]
CMD ["onestory", "serve", "gateway"]
