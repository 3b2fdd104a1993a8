# The two commands a newcomer runs:  make demo   and   make test
# Both create .venv if missing and install the project into it (CPU torch from the local wheel).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
TORCH  ?= torch==2.13.0
DEMO_OUT ?= runs/demo

.PHONY: install demo demo-quick test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lrm-llava demo --out $(DEMO_OUT)

demo-quick: $(STAMP)
	$(VENV)/bin/lrm-llava demo --out runs/demo-quick --quick

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/train_throughput.py
	$(PY) benchmarks/eval_throughput.py
	$(PY) benchmarks/translate_throughput.py

clean:
	rm -rf runs/demo-quick .pytest_cache
