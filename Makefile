# airflow-provider-hubspot — the README's commands.
PYTHON ?= python3
VENV ?= .venv
AIRFLOW_VERSION ?= 3.3.2
# The oldest Airflow we support, tested by `make test-compat` in its own venv.
COMPAT_AIRFLOW_VERSION ?= 2.11.2
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed-$(AIRFLOW_VERSION)

.PHONY: venv test test-compat lint demo bench bench-scale clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check --upgrade pip
	$(PIP) install --quiet --disable-pip-version-check "apache-airflow==$(AIRFLOW_VERSION)" -e ".[test,lint,redis]"
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

test-compat:
	$(MAKE) test VENV=.venv-$(COMPAT_AIRFLOW_VERSION) AIRFLOW_VERSION=$(COMPAT_AIRFLOW_VERSION)

lint: $(STAMP)
	$(VENV)/bin/ruff check airflow_provider_hubspot tests example_dags scripts benchmarks
	$(VENV)/bin/mypy

demo: $(STAMP)
	$(PY) scripts/demo.py

bench: $(STAMP)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/parallel.py
	$(PY) benchmarks/change_only.py
	$(PY) benchmarks/objects.py
	$(PY) benchmarks/export.py

# Airflow with CeleryExecutor and two workers, 8 mapped tasks sharing one budget (benchmarks/scale.py).
# Its extra (the Celery provider, PostgreSQL drivers) is installed here only, never by `make venv`.
BENCH_SCALE_STAMP := $(VENV)/.installed-bench-scale-$(AIRFLOW_VERSION)

$(BENCH_SCALE_STAMP): $(STAMP) pyproject.toml
	$(PIP) install --quiet --disable-pip-version-check "apache-airflow==$(AIRFLOW_VERSION)" -e ".[bench-scale]"
	touch $(BENCH_SCALE_STAMP)

bench-scale: $(BENCH_SCALE_STAMP)
	$(PY) benchmarks/scale.py

clean:
	rm -rf .venv .venv-* .pytest_cache .mypy_cache .ruff_cache build *.egg-info
