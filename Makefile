# Two commands matter: `make run` and `make test`. Everything else is listed by `make help`.
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
NODE_STAMP := node_modules/.installed
JS_BUNDLE := dropbox/static/js/drop-crypto.js
PYTEST_ARGS ?=

.PHONY: help run demo test audit audit-offline-ok lint typecheck pytest jstest sysdeps build bench soak wheelhouse lock clean i18n

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

sysdeps: ## install the Debian packages the drop and its tests need (when root)
	@deploy/install-system-deps.sh

$(VENV_STAMP): requirements/dev.lock pyproject.toml
	python3 -m venv .venv
	.venv/bin/pip install --quiet --require-hashes --no-deps -r requirements/dev.lock
	.venv/bin/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(JS_BUNDLE): $(NODE_STAMP) js/build.mjs keys/data/eff_large_wordlist.txt $(wildcard js/src/*.js js/src/*/*.js)
	npm run --silent build

build: $(VENV_STAMP) $(JS_BUNDLE) ## create .venv, install locked deps, bundle the browser code, compile catalogs
	$(PY) -m dropbox.i18n_build

i18n: $(VENV_STAMP) ## re-extract marked strings to messages.pot and merge them into every catalog
	$(PY) -m dropbox.i18n_build extract
	$(PY) -m dropbox.i18n_build update

run: sysdeps build ## set everything up and run the drop (reporter :8080, responder API :8081)
	$(PY) -m dropbox.cli run

demo: sysdeps build ## the drop on a private Tor network on this machine, fully offline
	$(PY) -m dropbox.cli demo

lint: $(VENV_STAMP)
	.venv/bin/ruff check keys dropbox journalist_cli tests bench scripts
	.venv/bin/bandit -q -ll -c bandit.yaml -r keys dropbox journalist_cli

typecheck: $(VENV_STAMP)
	.venv/bin/mypy keys journalist_cli dropbox
	.venv/bin/mypy --strict scripts

# `make test` accepts "no vulnerability database reachable" (printed as NOT AUDITED);
# `make audit`, for release machines, does not. Findings fail both.
audit: $(VENV_STAMP) $(NODE_STAMP) ## pip-audit + npm audit on the locked deps, strict
	$(PY) scripts/audit_dependencies.py

audit-offline-ok: $(VENV_STAMP) $(NODE_STAMP)
	$(PY) scripts/audit_dependencies.py --offline-ok

jstest: $(JS_BUNDLE)
	npm test --silent

pytest: build
	$(PY) -m pytest $(PYTEST_ARGS)

test: sysdeps build lint typecheck audit-offline-ok jstest pytest ## set everything up, lint, type-check and run every test

bench: sysdeps build ## measure against the peers' paths (prints a table, writes bench/results/)
	$(PY) -m bench

soak: sysdeps build ## the long reliability runs
	$(PY) -m pytest -m soak -p no:cacheprovider tests

wheelhouse: $(VENV_STAMP) ## offline install bundle for the air-gapped workstation
	rm -rf wheelhouse && mkdir -p wheelhouse
	.venv/bin/pip download --quiet --require-hashes --no-deps -d wheelhouse -r requirements/workstation.lock
	.venv/bin/pip wheel --quiet --no-deps --no-build-isolation -w wheelhouse .
	cp requirements/workstation.lock wheelhouse/
	@echo "wheelhouse/ ready: see README 'Installing the workstation offline'"

lock: $(VENV_STAMP) ## re-pin Python deps with hashes
	.venv/bin/uv pip compile pyproject.toml --extra server --extra online --extra workstation --extra dev --extra bench --extra balance --generate-hashes --python-version 3.11 -o requirements/dev.lock -q
	.venv/bin/uv pip compile pyproject.toml --extra workstation --generate-hashes --python-version 3.11 -o requirements/workstation.lock -q

clean: ## remove what the build made (keeps instance/)
	rm -rf .venv node_modules $(JS_BUNDLE) wheelhouse .pytest_cache .mypy_cache .ruff_cache
