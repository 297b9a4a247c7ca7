# Two commands: `make run` serves the dashboard on the demo data, `make test` runs every test.
# Both are idempotent: the venv is rebuilt only when a requirements file changed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
LOG_LEVEL ?= INFO
STAMP  := $(VENV)/.installed
# the server's own code, compiled to bytecode at install (a deployment's code is read-only to the
# service: without it every start compiles every module again), and the survival fits' numba
# loops to machine code (analytics/survival/kernels.py: cached beside it)
SOURCES := app.py serve.py analytics app_support pages

.PHONY: run test install chromium bench demo clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)
	$(PY) -m compileall -q $(SOURCES)
	$(PY) -c "from analytics.survival import kernels; kernels.warm()"

# Debian's chromium serves kaleido (figure export) and the browser tests; never a downloaded browser.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null) \
	      || echo "chromium could not be installed: figure export falls back to HTML"; \
	  else echo "no /usr/bin/chromium and not root: figure export falls back to HTML"; fi; \
	fi

# Local mode by default (one user, bound to 127.0.0.1); REGISTRY_MODE=internal|public (or mode in
# registry.toml) serves others: see "Deploying for your registry" in the README. serve.py puts the
# hardening guard in front of Streamlit; the demo store is prebuilt so the first visitor does not wait.
run: install
	-@$(MAKE) --no-print-directory chromium
	$(PY) -m app_support.demo_store
	REGISTRY_LOG_LEVEL=$(LOG_LEVEL) $(PY) serve.py --port $(PORT)

test: install chromium
	$(PY) -m pytest -n 2 -q

bench: install chromium
	$(PY) bench/ingest.py && $(PY) bench/rates.py && $(PY) bench/trends.py && $(PY) bench/maps.py && $(PY) bench/app.py && $(PY) bench/survival.py && $(PY) bench/mortality.py && $(PY) bench/report.py
	$(PY) bench/load.py --sessions 20 && $(PY) bench/load.py --sessions 50 --idle-sessions 0 && $(PY) bench/load.py --sessions 50 --nginx

demo: install
	$(PY) data/demo/generate.py

clean:
	rm -rf $(VENV) .pytest_cache
