#!/usr/bin/env bash
# Fuzz smoke run: builds the libFuzzer targets of tests/fuzz/ with clang
# (ASan+UBSan) into $QR_BIN/fuzz, replays the committed regression inputs and
# fuzzes each target for QR_FUZZ_SECONDS (default 15) on a scratch copy of
# its seed corpus. Fails on any crash, leak, hang or sanitizer report.
# A longer run is one command: tests/fuzz/run.sh --seconds 600 [TARGET...]
set -u
: "${QR_BIN:?QR_BIN must point at the build dir}" "${QR_SOURCE_DIR:?}"
command -v clang >/dev/null || { echo "skip: clang is not installed (deploy/install-deps.sh)"; exit 77; }
exec bash "$QR_SOURCE_DIR/tests/fuzz/run.sh" --seconds "${QR_FUZZ_SECONDS:-15}" --build "$QR_BIN/fuzz"
