# Two set-up commands (see README): `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CATALOG ?= catalog/synth
REPORTS ?= reports

.PHONY: run test venv catalog bench clean

$(STAMP): pyproject.toml requirements.lock
	@set -e; \
	if [ ! -x "$(PY)" ]; then \
	  PY312=$$(scripts/find_python312.sh); \
	  echo "creating $(VENV) with $$PY312"; \
	  "$$PY312" -m venv $(VENV); \
	fi; \
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip==25.3"; \
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock; \
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .; \
	touch $(STAMP)

venv: $(STAMP)

# The embedded default data: a seeded synthetic market for the five assets, generated on first use.
$(CATALOG)/.complete: | $(STAMP)
	$(VENV)/bin/botmm data synth --catalog $(CATALOG) --days 1 --bar-days 365 --seed 7
	touch $(CATALOG)/.complete

catalog: $(CATALOG)/.complete

run: $(STAMP) $(CATALOG)/.complete
	$(VENV)/bin/botmm backtest --config configs/btc.yaml --catalog $(CATALOG) \
	  --data-description "synthetic BTC market, seed 7 (botmm data synth)" \
	  --json $(REPORTS)/btc_backtest.json --report $(REPORTS)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q -n 2 tests

bench: $(STAMP)
	$(PY) bench/backtest_throughput.py
	$(PY) bench/candles_year.py

clean:
	rm -rf $(CATALOG) $(REPORTS) .pytest_cache
