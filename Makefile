# Two commands for a newcomer: `make demo` and `make test`.
# Both install what they need: Debian packages (as root) and a local virtualenv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# command -> Debian package that provides it
SYSTEM_TOOLS := tshark:tshark tcpdump:tcpdump dumpcap:tshark nft:nftables ip:iproute2 \
	curl:curl tftp:tftp-hpa atftp:atftp dig:dnsutils logger:bsdutils \
	in.tftpd:tftpd-hpa nginx:nginx-light dnsmasq:dnsmasq-base openssl:openssl \
	chromium:chromium

.PHONY: demo test lint format system venv clean bench captures mutate

demo: system venv
	$(BIN)/harness demo

test: system venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# a test that fails is run again up to twice: the suite drives real servers, namespaces
	@# and captures on 2 cores, where a few tests are load-sensitive; a real failure fails 3 times
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider --reruns 2 --reruns-delay 1 $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: system venv
	$(BIN)/python -m bench

# regenerate the reference captures in captures/ (as root: namespaces, tcpdump); not in `test`
captures: system venv
	$(BIN)/python captures/make_captures.py

# Mutation testing of harness/rules and harness/spec (mutmut, one worker; slow: not in
# `make test`, which runs its smoke, tests/mutation). docs/mutation.md.
# One module: make mutate MUTATE_ARGS="--module harness.rules.schedule_rules"
mutate: venv
	$(BIN)/python tools/mutate.py $(MUTATE_ARGS)

system:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
		cmd=$${pair%%:*}; pkg=$${pair##*:}; \
		PATH="$$PATH:/usr/sbin:/sbin" command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "missing system packages:$$missing (run as root, or: sudo apt-get install$$missing)"; exit 1; \
		fi; \
		echo "installing system packages:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	@# Debian's python3 needs python3-venv (ensurepip) to make a virtualenv.
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info
