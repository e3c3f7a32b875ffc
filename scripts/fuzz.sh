#!/bin/sh
# fuzz.sh [SECONDS] - builds every libFuzzer target with clang and runs each
# for SECONDS (default 60) over a scratch copy of its corpus in fuzz/corpus/.
set -eu
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDRT_BUILD_FUZZ=ON -DDRT_BUILD_TESTS=OFF -DDRT_BUILD_TOOLS=OFF \
    -DDRT_SANITIZE=address,undefined >/dev/null
cmake --build build/fuzz -j "$JOBS"

found=0
for bin in build/fuzz/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    found=1
    name=$(basename "$bin")
    corpus="fuzz/corpus/${name#fuzz_}"
    work="build/fuzz/corpus-work/$name"
    rm -rf "$work" && mkdir -p "$work"
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
    echo "-- $name for ${SECONDS_EACH}s"
    log="build/fuzz/$name.log"
    if ! "$bin" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
        -artifact_prefix="build/fuzz/$name-" "$work" >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz: $name found a failure; the input is in build/fuzz/$name-*" >&2
        exit 1
    fi
    tail -n 12 "$log"
done
[ "$found" -eq 1 ] || { echo "fuzz: no targets were built" >&2; exit 1; }
