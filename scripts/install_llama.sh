#!/usr/bin/env bash
# Install llama-cpp-python[server] (llama.cpp's OpenAI-compatible server) into .venv, for
# the chat tests (tests/ai). It compiles llama.cpp (~6-20 min on 2 cores), so it is not part
# of `make setup`: a wheel in $AITBC_WHEEL_CACHE (default ~/.cache/aitbc-wheels) is reused;
# otherwise one is built there (text only, portable, under nice, bounded by
# $AITBC_LLAMA_BUILD_TIMEOUT seconds). If it cannot be built, the chat tests skip with why.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.3.36
CACHE="${AITBC_WHEEL_CACHE:-$HOME/.cache/aitbc-wheels}"
PIP=.venv/bin/pip
mkdir -p "$CACHE"
if ! ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  mkdir -p .build-tmp
  echo "building llama-cpp-python $VERSION into $CACHE (one time)"
  if ! TMPDIR="$PWD/.build-tmp" CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF" \
      timeout "${AITBC_LLAMA_BUILD_TIMEOUT:-2400}" nice -n 19 \
      "$PIP" wheel --quiet --no-deps -w "$CACHE" "llama-cpp-python==$VERSION"; then
    echo "llama-cpp-python could not be built: the chat tests will skip" >&2
    exit 0
  fi
fi
"$PIP" install --quiet --find-links "$CACHE" "llama-cpp-python[server]==$VERSION"
