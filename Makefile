# Thin wrapper: the real build is CMake (CMakePresets.json). See README.md.
PRESET ?= release
BUILD_DIR := build/$(PRESET)

.PHONY: setup build test nightly serve bench fmt asan clean

setup:
	@scripts/install-deps

build: setup
	@[ -f $(BUILD_DIR)/build.ninja ] || cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET)

test: build
	@ctest --preset $(PRESET) -LE nightly

# Long fault tests (e.g. 200 rounds of kill -9 during appends), for a nightly job.
nightly: build
	@ctest --preset $(PRESET) -L nightly

serve: build
	@scripts/serve $(BUILD_DIR)

bench: setup
	@[ -f build/bench/build.ninja ] || cmake --preset bench >/dev/null
	@cmake --build --preset bench
	@scripts/run-benchmarks build/bench

asan:
	@$(MAKE) --no-print-directory test PRESET=asan

fmt:
	@git ls-files '*.h' '*.cpp' | xargs clang-format -i

clean:
	@rm -rf build
