# Meldbox: every set-up step lives here, so a fresh clone needs only Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MICROPYTHON := $(BIN)/micropython
PORT ?= /dev/ttyACM0

.PHONY: setup test demo bench firmware deploy clean

setup: $(STAMP)

$(STAMP): requirements.txt host_tools/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e host_tools
	$(MICROPYTHON) -c "import vfs, framebuf, asyncio; print('micropython ok')"
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/meldbox demo

bench: setup
	$(BIN)/python bench/run.py

firmware: setup
	$(BIN)/python firmware/build.py

deploy: firmware
	$(BIN)/python firmware/build.py --deploy $(PORT)

clean:
	rm -rf $(VENV) build .pytest_cache
