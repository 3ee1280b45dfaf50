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
# The ledger's PostgreSQL tests start a throwaway server (initdb + pg_ctl).
APT_PACKAGES += postgresql
# The dashboard test renders the page in headless Chromium.
APT_PACKAGES += chromium

# The Cortex-M target (issue 11): MicroPython's bare-metal ports/qemu under QEMU.
APT_PACKAGES += gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm

# MicroPython source for the Cortex-M image: the pinned subset vendored in
# firmware/vendor/micropython (commits and contents in its SOURCE.md), so that a clone
# builds it offline. `make MICROPY_SRC=/path ...` chooses another tree.
MICROPY_SRC ?= firmware/vendor/micropython
MCU_ELF := build/mcu/firmware.elf
# Rebuilt only when the firmware, the QEMU board or its build changes.
MCU_INPUTS := $(shell find firmware -name '*.py' -not -path '*/__pycache__/*' -not -path 'firmware/vendor/*') \
	$(wildcard firmware/boards/qemu/port/*.h) firmware/package.json hardware/pins.json

.PHONY: setup system lint test test-fast test-mcu mcu demo bench fleet soak soak-short firmware deploy clean

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

# The short soak (tests/host/test_soak.py, marker soak: one simulated device for about 5
# minutes) runs beside the other tests, so that the whole takes about as long as they do;
# its output is shown when both are done. Fails if either fails.
test: setup lint $(MCU_ELF)
	@rm -f build/soak-short.log; mkdir -p build
	@$(BIN)/python -m pytest -q -p no:cacheprovider -m soak tests/host/test_soak.py > build/soak-short.log 2>&1 & soak=$$!; \
	$(BIN)/python -m pytest -q -m "not soak"; rest=$$?; \
	wait $$soak; short=$$?; \
	echo "--- the short soak (tests/host/test_soak.py), beside the tests above:"; \
	cat build/soak-short.log; \
	test $$rest -eq 0 -a $$short -eq 0

# Issue 9's short soak alone (2,000 notices over a simulated year, 3 power cuts, 256K).
soak-short: setup
	$(BIN)/python -m pytest -q -m soak tests/host/test_soak.py

# Unit and firmware tests only (under a minute): no simulated devices, no firmware build.
test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

# The firmware on a 32-bit Cortex-M core under QEMU (tests/mcu/, hardware/README.md).
test-mcu: setup $(MCU_ELF)
	$(BIN)/python -m pytest -q tests/mcu

mcu: setup $(MCU_ELF)

$(MCU_ELF): $(STAMP) $(MCU_INPUTS) | $(MICROPY_SRC)/py
	$(BIN)/python firmware/build_mcu.py --src $(MICROPY_SRC)

demo: setup
	$(BIN)/meldbox demo

bench: setup $(MCU_ELF)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/fleet.py

# 50 simulated devices and one hotline with its ledger, on SQLite and on PostgreSQL;
# writes its section of docs/bench-results.md (also the last part of `make bench`).
fleet: setup
	$(BIN)/python bench/fleet.py

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
