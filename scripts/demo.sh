#!/bin/sh
# demo.sh - builds the drt tool and runs its demo.
set -eu
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDRT_BUILD_TESTS=OFF >/dev/null
cmake --build build/demo -j "$JOBS" --target drt_tool >/dev/null
exec build/demo/tools/drt/drt demo "$@"
