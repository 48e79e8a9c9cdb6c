# The two commands of the README: `make run` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
SANDBOX_AWS_PORT ?= 5000
EMBEDDED_REDIS_PORT ?= 6390

# The embedded defaults (SQLite under var/, the embedded Redis, the sandbox AWS). Honcho sets PORT
# for each process itself, so the site's port travels as HAPPA_PORT. The demo site may post
# webhooks to receivers on this machine (production refuses private addresses).
RUN_ENV := DEBUG=true HAPPA_WEBHOOK_ALLOW_PRIVATE=true \
	HAPPA_PORT=$(PORT) SITE_URL=http://127.0.0.1:$(PORT) \
	SANDBOX_AWS_PORT=$(SANDBOX_AWS_PORT) EMBEDDED_REDIS_PORT=$(EMBEDDED_REDIS_PORT) \
	AWS_ENDPOINT_URL=http://127.0.0.1:$(SANDBOX_AWS_PORT) \
	AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox \
	PATH=$(abspath $(BIN)):$$PATH

.PHONY: run test install lint clean manage

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py bootstrap_demo
	$(RUN_ENV) exec $(BIN)/honcho -f Procfile start

# A management command with the same environment as `make run`, e.g.
# make manage CMD="sandbox_fault <cluster id> alarm"
manage: $(VENV)/.installed
	$(RUN_ENV) $(BIN)/python manage.py $(CMD)

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var
