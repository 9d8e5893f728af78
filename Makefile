# Two commands on a fresh clone: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# One pytest worker per core (pytest-xdist; each worker has its own test database). PYTEST_ARGS= runs serially.
PYTEST_ARGS ?= -n auto

CHROMIUM := /usr/bin/chromium

.PHONY: run test test-faults lint bench install clean migrate check-schemas assets
# The ODK engine (ODK Web Forms' @getodk/xforms-engine under Node) that tests/clients/odk drive: installed
# from its committed lockfile, again whenever the lockfile changes.
ODK_ENGINE := tests/clients/odk
ODK_STAMP := $(ODK_ENGINE)/node_modules/.installed

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(ODK_STAMP): $(ODK_ENGINE)/package-lock.json $(ODK_ENGINE)/package.json
	cd $(ODK_ENGINE) && npm ci --no-audit --no-fund
	touch $@

# Browser tests drive Debian's Chromium (Playwright from PyPI never downloads a browser here).
$(CHROMIUM):
	$$(command -v sudo || true) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium'

migrate: $(STAMP)
	$(BIN)/alembic upgrade head

check-schemas: migrate
	$(BIN)/khuyencong schemas check

run: check-schemas
	$(BIN)/khuyencong serve

test: $(STAMP) $(CHROMIUM) $(ODK_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check app tests bench migrations/env.py
	$(BIN)/ruff format --check app tests bench migrations/env.py
	$(BIN)/mypy app

# Web assets: every web/*/ package is built from its lockfile into the app (the built files are committed,
# so `make run` needs no Node). Needs Node 20 and npm.
assets:
	@set -e; for d in web/*/; do \
	  [ -f "$$d/package.json" ] || continue; \
	  echo "== $$d"; \
	  (cd "$$d" && npm ci --no-audit --no-fund && npm run --if-present check && npm run build); \
	done

bench: $(STAMP)
	$(BIN)/python bench/auth.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/openrosa.py
	$(BIN)/python bench/listing.py
	$(BIN)/python bench/odata.py
	$(BIN)/python bench/export.py --labels
	$(BIN)/python bench/ranking.py
	$(BIN)/python bench/selection.py
	$(BIN)/python bench/hardening.py
	$(BIN)/python bench/soak.py
	$(BIN)/python bench/soak.py --seconds 600 --devices 0
	$(BIN)/python bench/planner.py
	$(BIN)/python bench/scoring_compare.py
	$(BIN)/python bench/embed_page.py

clean:
	rm -rf $(VENV) data/*.db data/*.db-* .pytest_cache .ruff_cache .mypy_cache $(ODK_ENGINE)/node_modules
