# emoe-pack: `make demo` and `make test` each set up what is missing, then run.
SWIFT ?= swift
RELEASE_FLAGS = -c release
TEST_FLAGS = -c release -Xswiftc -enable-testing
DEMO_DIR = .cache/demo
BIN = .build/release/emoe-pack

# The in-process determinism tests, run again under each x86-64 kernel OpenBLAS may pick
# (KernelDeterminismTests covers the binary itself across kernels).
DETERMINISM_TESTS = ExpertFFNTests/deterministic|BalancedKMeansTests/determinism|ConvertFixtureTests/deterministic
OPENBLAS_KERNELS = Haswell Zen SkylakeX Prescott

.PHONY: setup build demo test test-kernels lint format bench fixtures clean

setup:
	scripts/setup.sh

build: setup
	$(SWIFT) build $(RELEASE_FLAGS) --product emoe-pack

demo: build
	@mkdir -p $(DEMO_DIR)
	$(BIN) convert Fixtures/models/llama-tiny $(DEMO_DIR)/llama-tiny.emoe
	$(BIN) inspect $(DEMO_DIR)/llama-tiny.emoe
	$(BIN) verify $(DEMO_DIR)/llama-tiny.emoe --source Fixtures/models/llama-tiny

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests

test: setup lint
	python3 Fixtures/scripts/check_fixtures.py
	EMOE_REQUIRE_ORACLES=1 $(SWIFT) build $(TEST_FLAGS) --build-tests
	$(MAKE) --no-print-directory test-kernels
	EMOE_REQUIRE_ORACLES=1 $(SWIFT) test $(TEST_FLAGS) --skip-build

test-kernels:
	@for kernel in $(OPENBLAS_KERNELS); do \
	  echo "determinism tests under OPENBLAS_CORETYPE=$$kernel" >&2; \
	  OPENBLAS_CORETYPE=$$kernel EMOE_REQUIRE_ORACLES=1 \
	    $(SWIFT) test $(TEST_FLAGS) --skip-build --filter '$(DETERMINISM_TESTS)' || exit 1; \
	done

bench: build
	$(SWIFT) build $(RELEASE_FLAGS) --product emoe-bench
	scripts/bench.sh

fixtures:
	python3 Fixtures/scripts/make_fixtures.py

clean:
	rm -rf .build $(DEMO_DIR)
