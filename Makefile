# emoe-pack: `make demo` and `make test` each set up what is missing, then run.
SWIFT ?= swift
RELEASE_FLAGS = -c release
TEST_FLAGS = -c release -Xswiftc -enable-testing
DEMO_DIR = .cache/demo
BIN = .build/release/emoe-pack
FUZZ_SECONDS ?= 60

# The in-process determinism tests, run again under each x86-64 kernel OpenBLAS may pick
# (KernelDeterminismTests covers the binary itself across kernels).
DETERMINISM_TESTS = ExpertFFNTests/deterministic|BalancedKMeansTests/determinism|ConvertFixtureTests/deterministic
OPENBLAS_KERNELS = Haswell Zen SkylakeX Prescott

.PHONY: setup build demo test test-kernels lint format bench fixtures clean fuzz fuzz-smoke fuzz-replay

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
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests Fuzz

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests Fuzz

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

# libFuzzer targets (docs/reliability.md, "Fuzzing"): each runs FUZZ_SECONDS seconds.
fuzz: setup
	scripts/fuzz.sh build
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh run

# CI's short run: build, replay the seeds and regression inputs, fuzz each target briefly.
fuzz-smoke: setup
	scripts/fuzz.sh smoke

# Only the committed seeds and regression inputs, once each.
fuzz-replay: setup
	scripts/fuzz.sh build
	scripts/fuzz.sh replay

fixtures:
	python3 Fixtures/scripts/make_fixtures.py

clean:
	rm -rf .build .build-fuzz $(DEMO_DIR)
