# One way to run things, on a laptop and in CI. Each target sets up .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup browser test screenshots check-install lint demo bench clean

setup: $(STAMP)

# npm is optional: it brings solc (artifact recompile check) and anvil (second EVM
# backend). Without it those tests skip with a reason; everything else runs on pip alone.
# The test tools are the PEP 735 ``dev`` dependency group, out of the published extras;
# pip reads groups (--group) from 25.1 on, hence the upgrade first.
$(STAMP): pyproject.toml package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/pip install --quiet -e '.[all]' --group dev
	if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error || echo "npm ci failed: solc/anvil tests will skip"; \
	else echo "npm not found: solc/anvil tests will skip"; fi
	touch $(STAMP)

# The dashboard's browser tests drive Debian's chromium through Playwright (never a browser
# Playwright downloads itself). Installed when missing and apt-get is usable (root);
# otherwise tests/dashboard skip with the reason.
browser:
	@if test -x /usr/bin/chromium; then echo "chromium present: tests/dashboard will run"; \
	elif command -v apt-get >/dev/null 2>&1 && test "$$(id -u)" = 0; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium chromium-driver; \
	else echo "no chromium and no root apt-get: tests/dashboard will skip"; fi

# Two pytest-xdist workers, a test file each at a time (--dist loadfile keeps a module's
# shared fixtures, e.g. a devnet, on one worker). Tests are isolated for it: ephemeral
# ports, a database per test, Redis keys under a random prefix, tmp_path per worker.
# PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

# Refresh the dashboard screenshots the README shows (the tests save them elsewhere).
screenshots: $(STAMP)
	AITBC_SCREENSHOT_DIR=docs/img $(BIN)/pytest -q tests/dashboard

# The wheel alone and with each extra, in fresh venvs: imports and the CLI's answers.
check-install: $(STAMP)
	$(BIN)/python scripts/check_install.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy src

demo: $(STAMP)
	$(BIN)/aitbc demo

bench: $(STAMP)
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist src/*.egg-info
