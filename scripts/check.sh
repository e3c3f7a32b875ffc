#!/bin/sh
# check.sh - everything CI runs, in order:
#   1. a -Werror build from scratch and the whole ctest suite;
#   2. the same suite again under AddressSanitizer + UndefinedBehaviorSanitizer;
#   2b. the C test programs under valgrind (scripts/valgrind.sh says which);
#   2c. the threaded tests under ThreadSanitizer;
#   3. every libFuzzer target for FUZZ_SECONDS (default 60) each, with clang.
set -eu
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

step() { printf '\n==== %s\n' "$*"; }

step "release build (-Wall -Wextra -Werror)"
rm -rf build/check
cmake -S . -B build/check -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDRT_WERROR=ON >/dev/null
cmake --build build/check -j "$JOBS"
ctest --test-dir build/check --output-on-failure -j "$JOBS"

step "ASan + UBSan build"
rm -rf build/asan
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DDRT_WERROR=ON \
    -DDRT_SANITIZE=address,undefined >/dev/null
cmake --build build/asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build/asan --output-on-failure -j "$JOBS"

step "valgrind: the C test programs of the release build (no error, no leak)"
sh scripts/valgrind.sh build/check

step "ThreadSanitizer: the tests that run threads (loop thread, events, providers)"
rm -rf build/tsan
cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=Debug -DDRT_WERROR=ON -DDRT_SANITIZE=thread \
    -DDRT_BUILD_TOOLS=OFF >/dev/null
TSAN_TESTS="test_event test_api_loopback test_api_limits test_api_custom_providers test_fwpm_engine test_key_lifetime test_api_protection test_api_protection_cred test_security_modes test_api_km_blocking test_keying_socket"
# shellcheck disable=SC2086
cmake --build build/tsan -j "$JOBS" --target $TSAN_TESTS
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build/tsan --output-on-failure -j "$JOBS" \
    -R "^($(echo $TSAN_TESTS | tr ' ' '|'))\$"

if [ "$FUZZ_SECONDS" -gt 0 ] && command -v clang >/dev/null 2>&1; then
    step "fuzz targets, ${FUZZ_SECONDS}s each"
    sh scripts/fuzz.sh "$FUZZ_SECONDS"
else
    step "fuzz targets skipped (FUZZ_SECONDS=$FUZZ_SECONDS or no clang)"
fi
step "all checks passed"
