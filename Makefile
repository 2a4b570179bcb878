# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEV := VIATIC_ENV=development

.PHONY: install dev-install translations i18n-update run test lint bench clean

install: $(VENV)/.installed translations

$(VENV)/.installed: setup.cfg pyproject.toml examples/viatic-idees/setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[postgres,redis]" -e examples/viatic-idees
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d core/translations
	$(BIN)/pybabel compile -d examples/viatic-idees/viatic_idees/translations
	for catalog in plugins/*/translations; do $(BIN)/pybabel compile -d $$catalog || exit 1; done

dev-install: $(VENV)/.dev-installed translations

$(VENV)/.dev-installed: $(VENV)/.installed tests/oidc_provider/package-lock.json
	$(BIN)/pip install -q -e ".[dev]"
	@# Browser tests drive the system Chromium (never a downloaded one).
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "Chromium is not installed: the browser tests will be skipped."; }
	@# The chat's Matrix bridge is tested against a real Synapse, kept in its own environment
	@# so that the portal's stays light.
	test -x $(VENV)/synapse/bin/python || $(PYTHON) -m venv $(VENV)/synapse
	$(VENV)/synapse/bin/pip install -q "matrix-synapse>=1.120,<2"
	@# The OIDC login tests run the real oidc-provider (npm), pinned by its package-lock.json.
	@if command -v npm >/dev/null; then npm ci --prefix tests/oidc_provider --no-audit --no-fund; \
		else echo "npm is not installed: the OIDC provider tests will be skipped."; fi
	touch $@

run: install
	$(DEV) $(BIN)/viatic db upgrade
	$(DEV) $(BIN)/viatic demo
	@echo "Portail : http://127.0.0.1:5000"
	$(DEV) $(BIN)/viatic run --host 127.0.0.1 --port 5000

test: dev-install
	$(BIN)/pytest -n 2 --dist loadgroup

lint: dev-install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: dev-install
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) instance build *.egg-info

# After changing UI text: refresh the catalog, then translate what is new in the .po file.
i18n-update: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o core/translations/messages.pot .
	$(BIN)/pybabel update -i core/translations/messages.pot -d core/translations
