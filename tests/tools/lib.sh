# lib.sh - the common part of the tests/tools/*.sh scripts, sourced by
# each (`. "$(dirname "$0")/lib.sh"`): a temporary directory, the child
# processes killed on every exit, failures counted, commands run with
# their exit code and output checked, bounded waits.

# lib_start NAME: $TMP is a new directory drt_NAME.XXXXXX, $PIDS (the
# processes to kill on exit) and $FAILS start empty. On every exit the
# processes in $PIDS are killed, cleanup_more runs where the script
# defines one, and $TMP is removed; SIGINT and SIGTERM exit 1.
lib_start() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/drt_$1.XXXXXX") || exit 1
    PIDS=
    FAILS=0
    trap lib_cleanup EXIT
    trap 'exit 1' INT TERM
}

lib_cleanup() {
    for p in $PIDS; do
        kill -KILL "$p" 2>/dev/null
    done
    if command -v cleanup_more >/dev/null 2>&1; then
        cleanup_more
    fi
    rm -rf "$TMP"
}

fail() {
    echo "FAILED: $*"
    FAILS=$((FAILS + 1))
}

# run EXPECTED_RC NAME COMMAND...: output (stdout and stderr) in $TMP/NAME.
run() {
    want=$1
    name=$2
    shift 2
    "$@" >"$TMP/$name" 2>&1
    rc=$?
    if [ $rc -ne "$want" ]; then
        fail "$name exited $rc, expected $want"
        sed 's/^/    /' "$TMP/$name"
    fi
}

# expect NAME PATTERN: $TMP/NAME shows PATTERN.
expect() {
    grep -q -- "$2" "$TMP/$1" || {
        fail "$1 does not show '$2'"
        sed 's/^/    /' "$TMP/$1"
    }
}

# wait_for FILE PATTERN [TENTHS]: up to TENTHS/10 s (default 10 s) for
# PATTERN to appear in FILE.
wait_for() {
    i=0
    while [ $i -lt "${3:-100}" ]; do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# stopped_ok PID NAME: the process exits 0 within 10 s of SIGINT. A
# watchdog kills it after that, so the wait below cannot hang (and kill -0
# cannot be used: it succeeds on a child that exited but is not reaped).
stopped_ok() {
    kill -INT "$1" 2>/dev/null || { fail "$2 was already gone before SIGINT"; return; }
    (
        i=0
        while [ $i -lt 100 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -KILL "$1" 2>/dev/null
    ) &
    dog=$!
    wait "$1"
    rc=$?
    kill "$dog" 2>/dev/null
    wait "$dog" 2>/dev/null
    [ $rc -eq 0 ] || fail "$2 exited $rc after SIGINT, not 0 (137: still running after 10 s)"
}
