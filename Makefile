# Meldbox: every set-up step lives here, so a fresh clone needs only Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MICROPYTHON := $(BIN)/micropython
PORT ?= /dev/ttyACM0

# Debian packages some targets need. Each feature adds its own line:
#   APT_PACKAGES += name ...
# `make system` installs what is missing when run as root, else prints the one apt-get line.
APT_PACKAGES :=

.PHONY: setup system lint test test-fast demo bench soak firmware deploy clean

setup: system $(STAMP)

system:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "Meldbox needs Debian packages; run as root:"; \
	    echo "  apt-get install$$missing"; exit 1; \
	  fi; \
	fi

$(STAMP): requirements.txt host_tools/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e host_tools
	$(MICROPYTHON) -c "import vfs, framebuf, asyncio; print('micropython ok')"
	touch $(STAMP)

# The Python the project checks: lint (ruff check) and layout (ruff format); ruff.toml.
LINTED := host_tools tests firmware

lint: setup
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

test: setup lint
	$(BIN)/python -m pytest -q

# Unit and firmware tests only (under a minute): no simulated devices, no firmware build.
test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

demo: setup
	$(BIN)/meldbox demo

bench: setup
	$(BIN)/python bench/run.py

# A simulated year for one device (bench/soak.py; also the host_soak.py section of
# `make bench`): its figures go to docs/bench-results.md, its plot to docs/soak.png.
# SOAK_ARGS passes options, e.g. SOAK_ARGS="--notices 400 --power-cuts 2".
soak: setup
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

firmware: setup
	$(BIN)/python firmware/build.py

deploy: firmware
	$(BIN)/python firmware/build.py --deploy $(PORT)

clean:
	rm -rf $(VENV) build .pytest_cache
