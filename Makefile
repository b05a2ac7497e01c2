# Ferry's two commands (README Quick start):
#   make run    installs what is missing, builds, runs the bundled default model
#   make test   installs what is missing, builds, runs every test suite (C++, sanitizers, Python)
# Other targets: setup, build, build-asan, test-models (model zoo at full size),
#                bench (Ferry vs onnxruntime on the model zoo, bench/README.md),
#                docs (regenerates docs/supported_ops.md, ferry_ops.md and optimizer.md's pipeline), clean.

VENV      := .venv
PYTHON    := $(VENV)/bin/python
CMAKE     := $(VENV)/bin/cmake
BUILD     := build
BUILD_ASAN := build-asan
JOBS      ?= $(shell nproc)

.PHONY: all setup build build-asan run test test-models bench docs clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD)/build.ninja: | setup
	$(CMAKE) -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE=$(abspath $(PYTHON))

build: setup $(BUILD)/build.ninja
	$(CMAKE) --build $(BUILD) -j $(JOBS)

$(BUILD_ASAN)/build.ninja: | setup
	$(CMAKE) -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1 -O0" \
	  -DFERRY_SANITIZE=ON -DFERRY_BUILD_PYTHON=OFF -DPython_EXECUTABLE=$(abspath $(PYTHON))

build-asan: setup $(BUILD_ASAN)/build.ninja
	$(CMAKE) --build $(BUILD_ASAN) -j $(JOBS) --target ferry_unit_tests

run: build
	PYTHONPATH=$(BUILD)/python $(PYTHON) -m ferry run

test: build build-asan
	$(PYTHON) scripts/run_tests.py --build $(BUILD) --asan-build $(BUILD_ASAN)

# The model zoo at full size (tests/models with FERRY_ZOO_SIZE=full): long, not part of make test.
test-models: build
	FERRY_ZOO_SIZE=full FERRY_ZOO_CACHE=$(abspath $(BUILD))/model-zoo $(PYTHON) scripts/run_tests.py --build $(BUILD) --only models

# Ferry vs onnxruntime on the model zoo at full size (bench/README.md); long, not part of make test.
# BENCH_ARGS passes options through, e.g. make bench BENCH_ARGS="--models resnet50 --threads 1".
bench: build
	FERRY_ZOO_CACHE=$${FERRY_ZOO_CACHE:-$(abspath $(BUILD))/model-zoo} PYTHONPATH=$(BUILD)/python \
	  $(PYTHON) bench/run_bench.py $(BENCH_ARGS)

docs: build
	PYTHONPATH=$(BUILD)/python $(PYTHON) tools/gen_supported_ops.py
	PYTHONPATH=$(BUILD)/python $(PYTHON) tools/gen_optimizer_docs.py

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
