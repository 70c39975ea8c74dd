# Vireo: `make run` starts a node, `make test` runs every test. See README.md.
SWIFT ?= swift
DATA_DIR ?= /var/lib/vireo
NETNS ?= vireo-demo
LISTEN ?= 0.0.0.0:8006
BIN := $(CURDIR)/.build/debug
RELEASE_BIN := $(CURDIR)/.build/release

.PHONY: deps build build-tests run test unit integration api-test bench fmt lint check clean-run

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build --product vireod
	$(SWIFT) build --product vireo

# Every target must import only what it declares (the import check) and build without warnings
# (-warnings-as-errors in Package.swift).
build-tests: deps
	$(SWIFT) build --build-tests --explicit-target-dependency-import-check error

run: build
	@echo
	@echo "Vireo is starting: https://127.0.0.1:$(lastword $(subst :, ,$(LISTEN)))/  (data dir $(DATA_DIR))"
	@echo "Make a first admin in another shell (as root):"
	@echo "  VIREO_DATA_DIR=$(DATA_DIR) $(BIN)/vireo pveum user add admin@pve --password 'choose-a-password'"
	@echo "  VIREO_DATA_DIR=$(DATA_DIR) $(BIN)/vireo pveum acl modify / --users admin@pve --roles Administrator"
	@echo "then log in as admin@pve (realm pve). Ctrl-C stops the daemon."
	@echo "Host networking and VMs live in network namespace $(NETNS) (ip netns exec $(NETNS) ...); NETNS= to manage this host's own."
	@echo
	@if [ -n "$(NETNS)" ] && [ ! -e /run/netns/$(NETNS) ]; then ip netns add $(NETNS) && ip -n $(NETNS) link set lo up; fi
	$(BIN)/vireod --data-dir $(DATA_DIR) --listen $(LISTEN) $(if $(NETNS),--netns $(NETNS))

# Everything: Swift unit tests, the integration tests (real QEMU), then the API suite against the
# real daemon over HTTPS.
test: build-tests
	$(SWIFT) test --skip-build --skip IntegrationTests
	$(SWIFT) test --skip-build --filter IntegrationTests
	VIREOD=$(BIN)/vireod VIREO=$(BIN)/vireo .venv/bin/python -m pytest -q tests/api

unit: build-tests
	$(SWIFT) test --skip-build --skip IntegrationTests

integration: build-tests
	$(SWIFT) test --skip-build --filter IntegrationTests

api-test: build
	VIREOD=$(BIN)/vireod VIREO=$(BIN)/vireo .venv/bin/python -m pytest -q tests/api

bench: deps
	$(SWIFT) build -c release --product vireod
	$(SWIFT) build -c release --product vireo
	VIREOD=$(RELEASE_BIN)/vireod VIREO=$(RELEASE_BIN)/vireo scripts/bench.sh

fmt:
	$(SWIFT) format -i -r -p Sources Tests Package.swift

lint:
	$(SWIFT) format lint --strict -r -p Sources Tests Package.swift
	python3 scripts/check-imports.py

check: lint build-tests
