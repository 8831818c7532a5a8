# The two commands a user needs: `make demo` and `make test`. Each does its own set-up: a Docker
# engine (started only if none answers), the Kafka image (built offline only if none is present or
# pullable), the build dependencies, then the release build.

KAFKA_VERSION ?= $(shell cat docker/KAFKA_VERSION)
BIN := target/release/kafka-chaos
CARGO ?= cargo

.PHONY: demo test engine image deps build unit clean-containers

# Every cluster operation verified, then the smoke scenario: two cells, reports in reports/latest.
demo: engine image build
	$(BIN) cluster smoke --kafka-version $(KAFKA_VERSION)
	$(BIN) run scenarios/smoke.toml

# Unit tests first (no Docker), then the real-cluster tests one at a time: two clusters at once do
# not fit two cores.
test: engine image build
	$(CARGO) test --release --lib --bins
	$(CARGO) test --release --test '*' -- --test-threads=1

engine:
	bash scripts/ensure-docker.sh

# Prefer the official image when it is here or can be pulled; otherwise build it offline.
image: engine
	@docker image inspect apache/kafka:$(KAFKA_VERSION) >/dev/null 2>&1 \
	  || docker image inspect kafka-chaos/kafka:$(KAFKA_VERSION) >/dev/null 2>&1 \
	  || docker pull apache/kafka:$(KAFKA_VERSION) >/dev/null 2>&1 \
	  || bash docker/build-image.sh $(KAFKA_VERSION)

deps:
	bash scripts/ensure-build-deps.sh

build: deps
	$(CARGO) build --release

unit: deps
	$(CARGO) test --release --lib --bins

clean-containers: build
	$(BIN) clean
