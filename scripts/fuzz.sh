#!/bin/sh
# fuzz.sh [SECONDS] - builds every libFuzzer target with clang and runs each
# for SECONDS (default 60) over a scratch copy of its corpus in fuzz/corpus/,
# JOBS (default: the cores) targets at a time.
set -eu
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDRT_BUILD_FUZZ=ON -DDRT_BUILD_TESTS=OFF -DDRT_BUILD_TOOLS=OFF \
    -DDRT_SANITIZE=address,undefined >/dev/null
cmake --build build/fuzz -j "$JOBS"

# One target: fuzz it over a scratch copy of its corpus; the exit status
# goes to build/fuzz/NAME.status.
fuzz_one() {
    bin=$1
    name=$(basename "$bin")
    corpus="fuzz/corpus/${name#fuzz_}"
    work="build/fuzz/corpus-work/$name"
    rm -rf "$work" && mkdir -p "$work"
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
    rc=0
    "$bin" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
        -artifact_prefix="build/fuzz/$name-" "$work" >"build/fuzz/$name.log" 2>&1 || rc=$?
    echo $rc >"build/fuzz/$name.status"
}

# JOBS targets at a time (each is one process on one core), so every
# target still gets SECONDS_EACH of fuzzing and the whole run takes about
# SECONDS_EACH * targets / JOBS.
rm -f build/fuzz/*.status
found=0
batch=0
for bin in build/fuzz/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    found=1
    echo "-- $(basename "$bin") for ${SECONDS_EACH}s"
    fuzz_one "$bin" &
    batch=$((batch + 1))
    if [ "$batch" -ge "$JOBS" ]; then
        wait
        batch=0
    fi
done
wait
[ "$found" -eq 1 ] || { echo "fuzz: no targets were built" >&2; exit 1; }

failed=0
for bin in build/fuzz/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    if [ "$(cat "build/fuzz/$name.status" 2>/dev/null)" = 0 ]; then
        echo "-- $name"
        tail -n 12 "build/fuzz/$name.log"
    else
        tail -n 60 "build/fuzz/$name.log"
        echo "fuzz: $name found a failure; the input is in build/fuzz/$name-*" >&2
        failed=1
    fi
done
exit $failed
