# Sourced by the tests that measure memory or run valgrind: a build without
# ASan (its quarantine and shadow memory hide real RSS, and valgrind cannot
# run ASan binaries). Reuses $QR_BIN when it is already a plain build, else
# configures and builds the three binaries once in $QR_BIN/plain (under a
# lock: tests may run in parallel). Sets QR_PLAIN to the directory.
qr_plain_build() {
    if grep -q '^QUORATE_ASAN:BOOL=OFF' "$QR_BIN/CMakeCache.txt" 2>/dev/null; then
        QR_PLAIN=$QR_BIN
        return 0
    fi
    QR_PLAIN=$QR_BIN/plain
    (
        flock -w 600 9 || exit 1
        cmake -S "$QR_SOURCE_DIR" -B "$QR_PLAIN" -DCMAKE_BUILD_TYPE=Debug -DQUORATE_ASAN=OFF \
            -DBUILD_TESTING=OFF -DQUORATE_FUZZ=OFF >"$QR_TMP/plain-cmake.log" 2>&1 &&
            cmake --build "$QR_PLAIN" -j2 --target quorate-controller quorate-agent quoratectl \
                >"$QR_TMP/plain-build.log" 2>&1
    ) 9>"$QR_BIN/.plain-build.lock" || { tail -20 "$QR_TMP"/plain-*.log; return 1; }
}

# qr_rss_kb PID: resident set size in KiB
qr_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
