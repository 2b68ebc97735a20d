# syntax=docker/dockerfile:1
# Multi-stage: dependencies are built in one stage and copied as a virtualenv into a slim,
# non-root runtime. The same image runs web (default), worker and beat (see docker-compose.yml).

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt
# The project itself: the pipeline CLI (`mpr`), the one package pyproject.toml installs.
COPY pyproject.toml /tmp/project/pyproject.toml
COPY cli /tmp/project/cli
RUN /opt/venv/bin/pip install --no-deps /tmp/project && rm -rf /tmp/project

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/var/lib/registry \
    WEB_BIND=0.0.0.0:8000
# media/ holds uploaded audit evidence: created here, owned by the app, so that a named volume
# mounted on it starts with that owner.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin registry \
    && install -d -o registry -g registry /var/lib/registry /var/lib/registry/media
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY manage.py gunicorn.conf.py ./
COPY registry ./registry
COPY core ./core
COPY inventory ./inventory
COPY governance ./governance
COPY boms ./boms
COPY api ./api
COPY portal ./portal
# Static files are collected at build time; the key and data folder here serve this step only.
RUN SECRET_KEY=collectstatic-only DATA_DIR=/tmp/build python manage.py collectstatic --noinput \
    && rm -rf /tmp/build
USER registry
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["gunicorn", "registry.wsgi", "--config", "gunicorn.conf.py"]
