#!/bin/sh
# valgrind.sh [BUILD_DIR] - runs the C test programs of a finished build under
# valgrind's memcheck, JOBS at a time: any invalid read or write, use of
# uninitialised memory, or definite/indirect leak fails the run.
#
# Left out, with the reason: the simulator's large clouds (test_cluster,
# test_soak, test_sim_churn: minutes of CPU natively, hours under valgrind;
# their code is the engine's, which the unit tests here cover, and they run
# under ASan in check.sh), the hostile flood (it measures RSS and rates,
# which valgrind's own memory and speed would falsify), and the shell-script
# tests (they would check the shell).
set -eu

# valgrind.sh --one BUILD_DIR PROGRAM: one program, one line of verdict.
if [ "${1:-}" = "--one" ]; then
    t=$(basename "$3")
    start=$(date +%s)
    if valgrind -q --error-exitcode=97 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
        "$3" >"$2/valgrind-$t.log" 2>&1; then
        echo "  ok   $t ($(($(date +%s) - start)) s)"
    else
        echo "  FAIL $t: see $2/valgrind-$t.log"
    fi
    exit 0
fi

BUILD=${1:-build/check}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
SKIP=" test_cluster test_soak test_sim_churn test_api_flood "
command -v valgrind >/dev/null 2>&1 || { echo "valgrind.sh: valgrind not installed" >&2; exit 1; }

list="$BUILD/valgrind-tests.txt"
: >"$list"
for t in $(ctest --test-dir "$BUILD" -N | sed -n 's/^ *Test *#[0-9]*: //p'); do
    case "$SKIP" in *" $t "*) echo "  skip $t (see the header of this script)"; continue ;; esac
    bin=$(find "$BUILD/tests" -type f -name "$t" -perm -u+x 2>/dev/null | head -n 1)
    [ -n "$bin" ] && echo "$bin" >>"$list" # none: a shell-script test
done

results="$BUILD/valgrind-results.txt"
xargs -P "$JOBS" -I{} sh "$0" --one "$BUILD" {} <"$list" >"$results"
cat "$results"
ran=$(wc -l <"$list")
if grep -q "FAIL" "$results"; then
    for log in $(sed -n 's/.*see \(.*\.log\)$/\1/p' "$results"); do
        echo "---- $log"
        tail -n 40 "$log"
    done
    echo "valgrind: $ran programs, some failed"
    exit 1
fi
echo "valgrind: $ran programs, no error and no leak"
