# syntax=docker/dockerfile:1
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv

# Dependencies first: this layer is rebuilt only when pyproject.toml changes (not when the README or the code
# does; the package's metadata needs a README, so a placeholder stands in for it here).
COPY pyproject.toml ./
RUN mkdir app && echo '__version__ = "0"' > app/__init__.py && touch README.md \
 && pip install . && pip uninstall -y khuyencong-survey && rm -rf app README.md

COPY app ./app
COPY migrations ./migrations
COPY survey_schemas ./survey_schemas
COPY alembic.ini README.md ./
RUN pip install --no-deps -e . \
 && useradd --system --uid 10001 --home-dir /srv khuyencong \
 && mkdir -p /srv/data && chown -R khuyencong /srv/data
USER khuyencong

# Editable install: the code, alembic.ini and survey_schemas/ stay together under /srv.
ENV HOST=0.0.0.0 PORT=8000 WORKERS=1 DATABASE_URL=sqlite:////srv/data/khuyencong.db SCHEMAS_DIR=/srv/survey_schemas
EXPOSE 8000
VOLUME ["/srv/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8000\")}/healthz', timeout=2)"
# Migrations, then the server (several workers on PostgreSQL; SQLite is for one worker).
CMD ["sh", "-c", "alembic upgrade head && khuyencong schemas check && exec khuyencong serve"]
