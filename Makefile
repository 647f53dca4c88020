# complaintflow: `make run` serves on the embedded SQLite default; `make test` installs and runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATABASE_URL ?= sqlite:///data/complaintflow.db
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck pytest bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/complaintflow serve --host $(HOST) --port $(PORT) --database-url $(DATABASE_URL)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy models workflows notifiers app

pytest: install
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data/complaintflow.db* data/sms-outbox.jsonl
