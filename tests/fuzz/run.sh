#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for a fixed
# time on a scratch copy of its committed seed corpus, after replaying the
# committed regression inputs (tests/fuzz/regress/<target>/: inputs of
# crashes that were found and fixed). Prints, per target, the executions,
# executions per second, the corpus size at the end and the crashes; exits 1
# on any crash, hang or failed regression input.
#
#   tests/fuzz/run.sh [--seconds N] [--build DIR] [TARGET...]
#
# TARGET is a name under tests/fuzz/corpus/ (wire, plan, ...); default: all.
# stdin is /dev/null: a config may name /dev/stdin as a secret file.
# Generated inputs never go into the repository: the corpus copies and any
# crash inputs live under DIR/fuzz-work/ (crashes are kept there to read;
# copy one into regress/<target>/ once its bug is fixed).
set -uo pipefail

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ="$SRC/tests/fuzz"
seconds=30
build="$SRC/build-fuzz"
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
        --seconds=*) seconds=${1#*=}; shift ;;
        --build) build=${2:?--build needs a directory}; shift 2 ;;
        --build=*) build=${1#*=}; shift ;;
        -h|--help) usage ;;
        -*) echo "run.sh: unknown option $1" >&2; usage ;;
        *) targets+=("$1"); shift ;;
    esac
done
case "$seconds" in ''|*[!0-9]*) echo "run.sh: --seconds wants a whole number, got '$seconds'" >&2; exit 2 ;; esac
if [ ${#targets[@]} -eq 0 ]; then
    for d in "$FUZZ"/corpus/*/; do targets+=("$(basename "$d")"); done
fi
for t in "${targets[@]}"; do
    if [ ! -f "$FUZZ/fuzz_$t.c" ]; then
        echo "run.sh: no target '$t' (have: $(cd "$FUZZ" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//' | grep -vx util | tr '\n' ' '))" >&2
        exit 2
    fi
done

CLANG=$(command -v clang) || {
    echo "run.sh: clang not found; install it (bash deploy/install-deps.sh --build-only)" >&2
    exit 2
}
echo "== building the fuzz targets in $build (clang, ASan+UBSan, libFuzzer)"
mkdir -p "$build" || exit 2
if ! cmake -S "$SRC" -B "$build" -DCMAKE_C_COMPILER="$CLANG" -DQUORATE_FUZZ=ON \
        -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/fuzz-configure.log" 2>&1; then
    cat "$build/fuzz-configure.log" >&2
    echo "run.sh: cmake configure failed" >&2
    exit 2
fi
if ! cmake --build "$build" -j2 --target $(printf 'fuzz_%s ' "${targets[@]}") >"$build/fuzz-build.log" 2>&1; then
    grep -E 'error|Error' "$build/fuzz-build.log" | head -40 >&2
    echo "run.sh: build failed (full log: $build/fuzz-build.log)" >&2
    exit 2
fi

WORK="$build/fuzz-work"
rm -rf "$WORK"
mkdir -p "$WORK"
# the project's sanitizer settings (tests/run.sh); leak suppressions are
# tests/lsan.supp plus tests/fuzz/lsan.supp (known leaks inside libraries)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cat "$SRC/tests/lsan.supp" "$FUZZ/lsan.supp" >"$WORK/lsan.supp" 2>/dev/null
export LSAN_OPTIONS="suppressions=$WORK/lsan.supp:print_suppressions=0"
base_asan=$ASAN_OPTIONS

failed=0
printf '%-16s %10s %9s %12s %8s  %s\n' target execs exec/s corpus crashes regress
for t in "${targets[@]}"; do
    bin="$build/tests/fuzz/fuzz_$t"
    log="$WORK/$t.log"
    # libfyaml has no frame pointers: its leaks show their frames (for
    # tests/fuzz/lsan.supp) only with the slow unwinder
    case "$t" in
        *_conf) export ASAN_OPTIONS="$base_asan:fast_unwind_on_malloc=0" ;;
        *) export ASAN_OPTIONS="$base_asan" ;;
    esac
    # 1. regression inputs: each must run clean
    reg="-"
    if [ -d "$FUZZ/regress/$t" ] && [ -n "$(ls -A "$FUZZ/regress/$t")" ]; then
        n=$(find "$FUZZ/regress/$t" -type f | wc -l)
        if "$bin" -rss_limit_mb=2048 -timeout=25 "$FUZZ/regress/$t"/* </dev/null >"$WORK/$t.regress.log" 2>&1; then
            reg="$n ok"
        else
            reg="FAILED"
            failed=1
        fi
    fi
    # 2. fuzzing on a scratch copy of the seeds
    mkdir -p "$WORK/$t.corpus" "$WORK/$t.crashes"
    cp "$FUZZ/corpus/$t"/* "$WORK/$t.corpus/" 2>/dev/null
    "$bin" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=25 \
        -artifact_prefix="$WORK/$t.crashes/" "$WORK/$t.corpus" </dev/null >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corp=$(grep -Eo 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 | sed 's/corp: //')
    crashes=$(find "$WORK/$t.crashes" -type f | wc -l)
    [ $rc -ne 0 ] && [ "$crashes" -eq 0 ] && crashes="rc=$rc"
    printf '%-16s %10s %9s %12s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${corp:-?}" "$crashes" "$reg"
    if [ "$reg" = FAILED ]; then
        echo "--- $t: a regression input fails again:" >&2
        grep -E 'ERROR|SUMMARY|runtime error|Running:' "$WORK/$t.regress.log" | head -20 >&2
        failed=1
    fi
    if [ $rc -ne 0 ] || [ "$crashes" != 0 ]; then
        echo "--- $t: crash (log $log, inputs in $WORK/$t.crashes/):" >&2
        grep -E 'ERROR|SUMMARY|runtime error|==[0-9]+==|#[0-9]+ 0x' "$log" | head -30 >&2
        failed=1
    fi
done
if [ $failed -ne 0 ]; then
    echo "FAILED: see above; reproduce with $build/tests/fuzz/fuzz_TARGET INPUT" >&2
    exit 1
fi
echo "all targets ran ${seconds}s without a crash"
