#!/usr/bin/env python3
"""churn_loopback.py - DRT under churn with real processes on 127.0.0.1 (issue 7, part 3,
the loopback half, at a small size).

N `drt node` processes (one key each, ports BASE..BASE+N-1) form a cloud. Every node's
session is exponential with the given median; when it ends the process is stopped —
alternately SIGKILL (a crash) and SIGINT (a graceful close: `drt node` unregisters its key
and exits) — and a new `drt node` with a new key is started at once on the same port,
bootstrapping from up to 3 random live nodes, so N stays constant. After a warm-up,
lookups run at a steady rate: `drt search KEY --bootstrap 127.0.0.1:P`, a fresh resolve-only
node that joins through a random live node P and searches for the key of another random
live node. Targets and seeds are nodes up for at least 10 s (their key had time to be
published). Success: the search found the key (exit 0). Latency: the search's own time
("ms" of its JSON, after it is ACTIVE); the whole `drt search` process (start, join, search,
exit) is reported too. Traffic is not measured (real processes that are
SIGKILLed cannot report their counters).

Prints one JSON object: per-minute and overall figures. With CHURN_DEBUG=1 in the
environment, every lookup that did not find its key is told on stderr: the target, whether
it was still alive, and the search's output with its path (`drt search --path`).
"""
import argparse
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time

MIN_AGE_S = 10.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--drt", required=True, help="path to the drt tool")
    ap.add_argument("--nodes", type=int, default=64)
    ap.add_argument("--median-min", type=float, default=1.4)
    ap.add_argument("--warmup", type=float, default=60, help="seconds of churn before measuring")
    ap.add_argument("--minutes", type=int, default=5)
    ap.add_argument("--rate", type=float, default=2, help="lookups per second")
    ap.add_argument("--base-port", type=int, default=42100)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    mean_s = a.median_min * 60 / math.log(2)
    lock = threading.Lock()
    slots = [None] * a.nodes  # dict(proc, key, started, ends, gen)
    departures = {"crash": 0, "close": 0, "restart_failed": 0, "measured": 0}
    measuring = threading.Event()

    def start(i, gen):
        port = a.base_port + i
        key = "churn-%d-%d" % (i, gen)
        now = time.monotonic()
        with lock:
            seeds = [a.base_port + j for j, s in enumerate(slots)
                     if s and j != i and now - s["started"] >= 2.0]
            if not seeds:
                # The first nodes of the cloud: none is 2 s old yet, and a node
                # without a seed would stay an island of its own.
                seeds = [a.base_port + j for j, s in enumerate(slots) if s and j != i]
        rng.shuffle(seeds)
        argv = [a.drt, "node", "--port", str(port), "--register", key]
        if seeds:
            argv += ["--bootstrap", ";".join("127.0.0.1:%d" % p for p in seeds[:3])]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with lock:
            slots[i] = {"proc": p, "key": key, "started": now, "gen": gen,
                        "ends": now + rng.expovariate(1 / mean_s)}

    # Join: one node every 100 ms.
    for i in range(a.nodes):
        start(i, 0)
        time.sleep(0.1)
    stop = threading.Event()
    n_dep = [0]

    def churner():
        while not stop.is_set():
            now = time.monotonic()
            due = []
            with lock:
                for i, s in enumerate(slots):
                    if s and s["ends"] <= now:
                        due.append((i, s))
                        slots[i] = None
            for i, s in due:
                crash = n_dep[0] % 2 == 0
                n_dep[0] += 1
                departures["crash" if crash else "close"] += 1
                if measuring.is_set():
                    departures["measured"] += 1
                s["proc"].send_signal(signal.SIGKILL if crash else signal.SIGINT)
                try:
                    s["proc"].wait(timeout=10)
                except subprocess.TimeoutExpired:
                    s["proc"].kill()
                    s["proc"].wait()
                    departures["restart_failed"] += 1
                start(i, s["gen"] + 1)
            time.sleep(0.05)

    threading.Thread(target=churner, daemon=True).start()
    time.sleep(a.warmup)

    results = []  # (start offset s, outcome, ms)
    t0 = time.monotonic()
    measuring.set()
    end = t0 + a.minutes * 60
    threads = []

    def lookup(at, seed_port, key):
        argv = [a.drt, "search", key, "--bootstrap", "127.0.0.1:%d" % seed_port, "--timeout",
                "5000", "--json"] + (["--path"] if os.environ.get("CHURN_DEBUG") else [])
        t = time.monotonic()
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            with lock:
                results.append((at, "hung", None, None))
            return
        proc_ms = (time.monotonic() - t) * 1000
        done = None
        for line in r.stdout.splitlines():
            if line.startswith("{") and '"done"' in line:
                done = json.loads(line)
        if r.returncode == 0:
            outcome = "found"
        elif r.returncode == 1:
            outcome = "not_found"
        else:
            outcome = "no_join" if "ACTIVE" in (r.stdout + r.stderr) else "error"
        if outcome != "found" and os.environ.get("CHURN_DEBUG"):
            with lock:
                alive = [s["key"] for s in slots if s]
            sys.stderr.write("%s: %s via %d; target %s; %s %s\n" % (
                outcome, key, seed_port, "alive" if key in alive else "gone",
                r.stdout.strip().replace("\n", " | "), r.stderr.strip().replace("\n", " | ")))
        with lock:
            results.append((at, outcome, done["ms"] if done and outcome == "found" else None,
                            proc_ms if outcome == "found" else None))

    k = 0
    while True:
        due = t0 + k / a.rate
        if due >= end:
            break
        time.sleep(max(0, due - time.monotonic()))
        now = time.monotonic()
        with lock:
            old = [i for i, s in enumerate(slots) if s and now - s["started"] >= MIN_AGE_S]
            if len(old) >= 2:
                f, t = rng.sample(old, 2)
                seed_port, key = a.base_port + f, slots[t]["key"]
            else:
                seed_port = None
        k += 1
        if seed_port is None:
            continue
        th = threading.Thread(target=lookup, args=(now - t0, seed_port, key))
        th.start()
        threads.append(th)
    measuring.clear()
    for th in threads:
        th.join()
    stop.set()
    time.sleep(0.2)
    with lock:
        for s in slots:
            if s:
                s["proc"].kill()
    for s in slots:
        if s:
            s["proc"].wait()

    def quant(v, p):
        v = sorted(v)
        if not v:
            return None
        return v[min(len(v), max(1, math.ceil(p * len(v)))) - 1]

    def summary(rs):
        n = len(rs)
        ok = [ms for _, o, ms, _ in rs if o == "found"]
        proc = [pm for _, o, _, pm in rs if o == "found"]
        out = {"lookups": n, "found": len(ok), "success_pct": 100.0 * len(ok) / n if n else None,
               "latency_ms_p50": quant(ok, 0.5), "latency_ms_p99": quant(ok, 0.99),
               "process_ms_p50": quant(proc, 0.5), "process_ms_p99": quant(proc, 0.99)}
        for o in ("not_found", "no_join", "error", "hung"):
            out[o] = sum(1 for r in rs if r[1] == o)
        return out

    per = []
    for m in range(a.minutes):
        d = summary([r for r in results if m * 60 <= r[0] < (m + 1) * 60])
        d["minute"] = m + 1
        per.append(d)
    out = {"nodes": a.nodes, "median_session_min": a.median_min, "warmup_s": a.warmup,
           "minutes": a.minutes, "lookup_rate_per_s": a.rate, "seed": a.seed,
           "departures": departures["crash"] + departures["close"],
           "departures_measured": departures["measured"],
           "crashes": departures["crash"], "closes": departures["close"],
           "graceful_close_over_10s": departures["restart_failed"], "per_minute": per}
    out.update(summary(results))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
