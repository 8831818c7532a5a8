# The two commands a user needs: `make demo` and `make test`. Each does its own set-up: a Docker
# engine (started only if none answers), the Kafka image (built offline only if none is present or
# pullable), the build dependencies, then the release build.

KAFKA_VERSION ?= $(shell cat docker/KAFKA_VERSION)
BIN := target/release/kafka-chaos
CARGO ?= cargo

SARAMA_WORKER := workers/sarama/sarama-worker
JAVA_WORKER := workers/java/target/kafka-chaos-worker.jar
# The filesystem that forgets unsynced writes (power-loss), linked statically: it is mounted into
# broker images of any libc (Debian here, Alpine in the official image). With an explicit
# --target, the flag reaches only the crate's own code, not its build scripts and macros.
LAZYFS := lazyfs/target/kafka-chaos-lazyfs
HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
LAZYFS_CARGO := cd lazyfs && RUSTFLAGS="-C target-feature=+crt-static" $(CARGO)

.PHONY: demo test engine image versions-images deps build workers worker-tests lazyfs lazyfs-tests unit clean-containers known-keys

# Every cluster operation verified, then the smoke scenario: two cells, reports in reports/latest.
demo: engine image build
	$(BIN) cluster smoke --kafka-version $(KAFKA_VERSION)
	$(BIN) run scenarios/smoke.toml

# Unit tests first (no Docker), then the real-cluster tests one at a time: two clusters at once do
# not fit two cores.
test: engine image build worker-tests lazyfs-tests
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

# Every Kafka version scenarios/versions.toml compares (3.9.x beside the default 4.x).
VERSIONS_KAFKA ?= 3.9.1 $(KAFKA_VERSION)
versions-images: engine
	@for v in $(VERSIONS_KAFKA); do $(MAKE) --no-print-directory image KAFKA_VERSION=$$v || exit 1; done

deps:
	bash scripts/ensure-build-deps.sh

build: deps workers $(LAZYFS)
	$(CARGO) build --release

# The Go and Java workers (docs/worker-protocol.md), rebuilt only when their sources change. Go
# modules come from the Go module proxy, jars from Maven Central.
workers: $(SARAMA_WORKER) $(JAVA_WORKER)

$(SARAMA_WORKER): $(wildcard workers/sarama/*.go) workers/sarama/go.mod workers/sarama/go.sum
	cd workers/sarama && go build -o sarama-worker .

$(JAVA_WORKER): workers/java/pom.xml $(shell find workers/java/src/main -type f 2>/dev/null)
	cd workers/java && mvn -q -B -DskipTests package

lazyfs: $(LAZYFS)

$(LAZYFS): $(wildcard lazyfs/src/*.rs) lazyfs/Cargo.toml lazyfs/Cargo.lock
	$(LAZYFS_CARGO) build --release --target $(HOST_TRIPLE)
	cp lazyfs/target/$(HOST_TRIPLE)/release/kafka-chaos-lazyfs $(LAZYFS)

# The filesystem's own tests: its durability model, and one real FUSE mount (root and /dev/fuse).
lazyfs-tests: deps
	$(LAZYFS_CARGO) test --release --target $(HOST_TRIPLE)

# Each worker's own unit tests: its error classification rules and its settings list.
worker-tests: deps
	cd workers/sarama && go vet ./... && go test ./...
	cd workers/java && mvn -q -B test

unit: deps
	$(CARGO) test --release --lib --bins

clean-containers: build
	$(BIN) clean

# Regenerate the tables of src/scenario/known_keys.rs (tools/known-keys/; python3, java, mvn).
known-keys:
	python3 tools/known-keys/gen.py --kafka-version $(KAFKA_VERSION)
