# The relay ("POS integration service") and the hugo_pos CLI in one small image.
#   docker build -t REGISTRY/hugo-pos:0.1.0 .
#   docker run --env-file .env -p 8000:8000 REGISTRY/hugo-pos:0.1.0
# No secret is baked in: every setting comes from the environment at run time (env.example).
# The root filesystem may be mounted read-only; only /tmp needs to be writable.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# -- build: install hugo-pos (and the PostgreSQL driver) into a virtualenv ----------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/hugo-pos
WORKDIR /src
# .dockerignore admits only the package, its Hugo module and the packaging files.
COPY . .
RUN /opt/hugo-pos/bin/pip install ".[postgres]" \
    && /opt/hugo-pos/bin/python -m compileall -q /opt/hugo-pos/lib

# -- run: the virtualenv, gunicorn's config and an unprivileged user, nothing else -------------
FROM ${PYTHON_IMAGE} AS run
# HOME=/tmp: the only writable place (gunicorn keeps its control socket under ~/.gunicorn).
ENV PATH=/opt/hugo-pos/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
RUN groupadd --system --gid 10001 hugo-pos \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin hugo-pos
COPY --from=build /opt/hugo-pos /opt/hugo-pos
COPY gunicorn.conf.py /app/gunicorn.conf.py
WORKDIR /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["gunicorn", "--config", "/app/gunicorn.conf.py", "--bind", "0.0.0.0:8000", "hugo_pos.relay.app:create_app()"]
