"""The timer layer at scale: memory, cost of one reset, how late a due timer fires.

Run by hand (numbers go to docs/performance.md, never into tests):

    .venv/bin/python bench/timers_bench.py --pending 10000 100000 1000000
    .venv/bin/python bench/timers_bench.py --pending 100000 --memory-store  # default store

Each size runs in a fresh child process so memory readings do not mix.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure_cart_timers(pending: int) -> dict[str, object]:
    from scheduler.timers import CartTimers

    lateness: list[float] = []
    due_at: dict[int, float] = {}
    lock = threading.Lock()
    all_fired = threading.Event()
    probes = 200

    def fire(cart_id: int) -> None:
        fired = time.time()
        with lock:
            lateness.append(fired - due_at[cart_id])
            if len(lateness) >= probes:
                all_fired.set()

    gc.collect()
    before = rss_mb()
    timers = CartTimers(fire, max_workers=4)
    far = datetime.now(UTC) + timedelta(days=2)
    rng = random.Random(1)
    started = time.perf_counter()
    timers.start((n, far + timedelta(seconds=rng.randrange(5 * 86400))) for n in range(pending))
    rebuild_s = time.perf_counter() - started
    gc.collect()
    after = rss_mb()

    resets = []
    for _ in range(10_000):
        cart = rng.randrange(pending)
        when = far + timedelta(seconds=rng.randrange(5 * 86400))
        t0 = time.perf_counter()
        timers.set(cart, when)
        resets.append((time.perf_counter() - t0) * 1e6)

    base = time.time() + 0.5
    for n in range(probes):
        cart = pending + n
        due = base + rng.uniform(0, 1.5)
        due_at[cart] = due
        timers.set(cart, datetime.fromtimestamp(due, UTC))
    all_fired.wait(30)
    timers.shutdown(wait=True)
    late_ms = [x * 1000 for x in lateness]
    return {
        "store": "CartJobStore", "pending": pending,
        "rss_delta_mb": round(after - before, 1), "rss_total_mb": round(after, 1),
        "rebuild_s": round(rebuild_s, 2),
        "reset_us_median": round(statistics.median(resets), 1),
        "reset_us_p99": round(percentile(resets, 0.99), 1),
        "fired": len(late_ms),
        "late_ms_p50": round(percentile(late_ms, 0.5), 1),
        "late_ms_p99": round(percentile(late_ms, 0.99), 1),
        "late_ms_max": round(max(late_ms), 1),
    }


def measure_memory_store(pending: int) -> dict[str, object]:
    """APScheduler's default MemoryJobStore with one DateTrigger job per cart."""
    from apscheduler.schedulers.background import BackgroundScheduler

    gc.collect()
    before = rss_mb()
    sched = BackgroundScheduler(timezone=UTC)
    sched.start(paused=True)
    far = datetime.now(UTC) + timedelta(days=2)
    rng = random.Random(1)
    started = time.perf_counter()
    for n in range(pending):
        sched.add_job(print, "date", run_date=far + timedelta(seconds=rng.randrange(5 * 86400)),
                      args=(n,), id=f"cart:{n}")
    build_s = time.perf_counter() - started
    gc.collect()
    after = rss_mb()
    resets = []
    for _ in range(2_000):
        cart = rng.randrange(pending)
        t0 = time.perf_counter()
        sched.reschedule_job(f"cart:{cart}", trigger="date",
                             run_date=far + timedelta(seconds=rng.randrange(5 * 86400)))
        resets.append((time.perf_counter() - t0) * 1e6)
    sched.shutdown(wait=False)
    return {
        "store": "MemoryJobStore", "pending": pending,
        "rss_delta_mb": round(after - before, 1), "build_s": round(build_s, 2),
        "reset_us_median": round(statistics.median(resets), 1),
        "reset_us_p99": round(percentile(resets, 0.99), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--memory-store", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure = measure_memory_store if args.memory_store else measure_cart_timers
        print(json.dumps(measure(args.pending[0])))
        return
    for size in args.pending:
        cmd = [sys.executable, __file__, "--child", "--pending", str(size)]
        if args.memory_store:
            cmd.append("--memory-store")
        print(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip())


if __name__ == "__main__":
    main()
