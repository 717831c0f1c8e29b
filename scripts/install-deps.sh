#!/usr/bin/env bash
# Installs the Debian (bookworm) packages deepcomp builds and tests with. Uses sudo when not root.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libeigen3-dev libprotobuf-dev protobuf-compiler libonnx-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libzstd-dev zlib1g-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  libhwy-dev  # Google Highway, the sparse kernels' SIMD dispatch
  libonnx-testdata dataset-fashion-mnist librsvg2-bin
  clang-14 libclang-rt-14-dev libomp-14-dev  # the libFuzzer targets (bench/fuzz.sh, CI smoke)
  # the real-model inputs and references (scripts/make-real-references.sh, models/real/README.md)
  python3-onnx python3-sklearn python3-pil fonts-dejavu-core espeak-ng sox nodejs
  # the Python module (python/, docs/PYTHON.md) and its tests
  pybind11-dev python3-dev python3-numpy python3-pytest
)
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${packages[@]}"
