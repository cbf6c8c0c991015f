"""The dashboard's responsiveness and memory, driven headless with AppTest in this process.

    python -m benchmarks.app_bench --runs 20 --warm-runs 5

Every run uses the Train page's defaults (synthetic data, batch 12, up to 50 epochs).

This process plays the Streamlit server: its RSS is the serving process's memory
(training itself runs in worker processes).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks.memory_bench import rss_mb  # noqa: E402


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def wait_for_warm_spare(runs_dir: str, timeout: float = 60) -> float:
    """Block until the pool's spare worker has warmed up: it has done its imports (seconds of CPU)
    and now waits (its CPU time stands still)."""
    from dashboard.cache import get_worker_pool

    started, ticks_per_second = time.perf_counter(), os.sysconf("SC_CLK_TCK")
    while time.perf_counter() - started < timeout:
        spare = get_worker_pool(runs_dir)._spare
        if spare is not None and spare.poll() is None:
            before = _cpu_ticks(spare.pid)
            time.sleep(0.5)
            if _cpu_ticks(spare.pid) == before > 2 * ticks_per_second:
                break
        else:
            time.sleep(0.2)
    return time.perf_counter() - started


def _train_once(at, state, store) -> tuple[float, float]:
    """Seconds from pressing Train to the first epoch recorded, and to the page showing it."""
    started = time.perf_counter()
    at.button(key=state.TRAIN_BUTTON).click().run()
    run_id = at.session_state[state.TRAIN_RUN_ID]
    while len(store.read_history(run_id)) < 1:
        time.sleep(0.02)
    recorded = time.perf_counter() - started
    at.run()
    shown = time.perf_counter() - started
    while store.load_run(run_id).is_active:
        time.sleep(0.1)
    at.run()
    return recorded, shown


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20, help="runs in a row, for the memory reading")
    parser.add_argument("--warm-runs", type=int, default=5, help="of those, runs timed with a warm spare worker")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="trainscope-bench-")
    os.environ["TRAINSCOPE_RUNS_DIR"] = folder
    from streamlit.testing.v1 import AppTest

    from core.store import RunStore
    from dashboard import state

    store = RunStore(folder)
    started = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=300)
    at.run()
    first_render = time.perf_counter() - started
    reruns = []
    for value in (0.1, 0.2, 0.3, 0.4, 0.5, 0.1, 0.2, 0.3, 0.4, 0.5):  # then back at the default, 0.5
        started = time.perf_counter()
        at.slider(key=state.TRAIN_DROPOUT).set_value(value).run()
        reruns.append(time.perf_counter() - started)
    tensorflow_in_server = "tensorflow" in sys.modules
    first_epochs, rss = [], {}
    for index in range(1, args.runs + 1):
        if index <= args.warm_runs:  # "once the app is warm": a spare worker waits, warmed up
            wait_for_warm_spare(folder)
        timings = _train_once(at, state, store)
        if index <= args.warm_runs:
            first_epochs.append(timings)
        if index in (1, args.runs):
            rss[index] = rss_mb()
    print(json.dumps({
        "first_render_seconds": first_render,
        "slider_rerun_median_seconds": statistics.median(reruns),
        "tensorflow_imported_by_server": tensorflow_in_server,
        "train_to_first_epoch_recorded_seconds": [r for r, _ in first_epochs],
        "train_to_first_epoch_shown_seconds": [s for _, s in first_epochs],
        "server_rss_after_1_mb": rss[1], f"server_rss_after_{args.runs}_mb": rss[args.runs],
        "exceptions": [str(e.value) for e in at.exception],
    }))


if __name__ == "__main__":
    main()
