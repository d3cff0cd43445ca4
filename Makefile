# mlwatch: `make run` starts the dashboard on the bundled sample logs, `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STATE ?= .mlwatch
LOGS ?= sample_logs
PORT ?= 8501

.PHONY: run test install sample-state sample clean bench bench-smoke

$(BIN)/.installed: requirements.txt
	@test -n "$(PYTHON)" || { echo "make: Python 3.11 not found; install it or pass PYTHON=/path/to/python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/.installed

# Build the sample state once (two runs: the healthy April and the broken May).
$(STATE)/mlwatch.db: | $(BIN)/.installed
	-$(BIN)/python -m mlwatch run --logs $(LOGS) --reference 2026-03 --current 2026-04 --state $(STATE)
	-$(BIN)/python -m mlwatch run --logs $(LOGS) --reference 2026-03 --current 2026-05 --state $(STATE)

sample-state: $(STATE)/mlwatch.db

run: install sample-state
	@echo "mlwatch dashboard: http://127.0.0.1:$(PORT)  (Ctrl+C to stop)"
	MLWATCH_STATE=$(STATE) $(BIN)/python -m streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT)

# Lint and format checks first (ruff's default rules, pinned with ruff in requirements.txt), then the
# tests on two workers. --dist loadfile keeps a module's tests on one worker, so its module fixtures are
# built once; session fixtures are built once per run (tests/conftest.py: built_once). Every Spark test is
# in tests/integration/test_spark_engine.py, so loadfile gives them one worker, one JVM and one session.
# --no-loadscope-reorder keeps the modules in the order tests/conftest.py gives them: the longest first.
test: install
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

# Benchmarks (docs/BENCHMARKS.md): generated logs up to 3M users, about 17 minutes; results in bench/out/.
bench: install
	$(BIN)/python -m bench

# The same code paths on tiny data (make test runs it too, through tests/integration/test_bench_smoke.py).
bench-smoke: install
	$(BIN)/python -m bench --smoke --out bench/out/smoke

# Regenerate the bundled sample logs (deterministic: the same files byte for byte).
sample: install
	rm -rf $(LOGS) && $(BIN)/python -m mlwatch sample --out $(LOGS)

clean:
	rm -rf $(VENV) $(STATE) .pytest_cache
