#!/usr/bin/env bash
# Installs everything Ferry needs to build and test, and nothing twice:
#   - Debian packages (compiler toolchain, protobuf, Eigen, oneDNN with the OpenCL headers and
#     loader its CMake config asks for, GoogleTest, Google Benchmark,
#     RE2 for RegexFullMatch, the image codecs ImageDecoder uses)
#   - a virtual environment in .venv with the pinned Python packages of requirements.txt
# A second call finds everything in place and returns at once (a stamp records the
# requirements it installed). Needs root or sudo for the Debian packages on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(build-essential pkg-config python3-venv libprotobuf-dev protobuf-compiler
                 libeigen3-dev libdnnl-dev ocl-icd-opencl-dev libgtest-dev libgmock-dev libbenchmark-dev
                 libre2-dev libjpeg62-turbo-dev libpng-dev libtiff-dev libwebp-dev libopenjp2-7-dev)

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python_bin="${PYTHON:-python3}"
stamp=".venv/.ferry-requirements"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python_bin --version)"
  "$python_bin" -m venv .venv
fi
if ! cmp -s requirements.txt "$stamp"; then
  echo "setup: installing pinned Python packages into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  cp requirements.txt "$stamp"
fi
