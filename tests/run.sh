#!/usr/bin/env bash
# The README's test command: installs what the tests need, builds with
# ASan+UBSan and -Werror, runs the whole suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
BUILD=${QR_BUILD_DIR:-build-test}
cmake -S . -B "$BUILD" -DQUORATE_ASAN=ON -DQUORATE_WERROR=ON -DBUILD_TESTING=ON \
      -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" "$@"
