# `make run` serves the app and a worker on the embedded default; `make test` runs the tests.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test lint bench

# Each also installs the project itself (editable: the CLI, `mpr`, on the venv's PATH; see pyproject.toml).
$(BIN)/.runtime-installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(BIN)/.dev-installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(BIN)/.runtime-installed $@

run: $(BIN)/.runtime-installed
	python manage.py migrate --noinput
	python manage.py seed_demo
	python manage.py ensure_admin
	@echo "Serving on http://$${WEB_BIND:-127.0.0.1:8000}/  (portal: /, admin: /admin/, API: /api/v1/; Ctrl-C stops)"
# Ctrl-C reaches honcho, which stops both processes and reports 130 (stopped by SIGINT): the
# normal end of a development server, not a failure. The shell ignores that SIGINT itself, so
# that it lives to say so and make stays quiet.
	@trap '' INT; honcho --no-prefix -f Procfile.dev start || [ $$? -eq 130 ]

test: $(BIN)/.dev-installed
	scripts/test

lint: $(BIN)/.dev-installed
	ruff check .
	ruff format --check .
	python manage.py check
	python manage.py makemigrations --check --dry-run
	python manage.py spectacular --validate --fail-on-warn --file /dev/null

bench: $(BIN)/.dev-installed
	python -m bench.refresh
	python -m bench.writes
	python -m bench.gate
	python -m bench.api
	python -m bench.portal
	python -m bench.bom
