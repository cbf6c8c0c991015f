"""The dashboard's responsiveness and memory, driven headless with AppTest in this process.

    python -m benchmarks.app_bench --runs 20

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


def _tiny(at, state) -> None:
    at.slider(key=state.TRAIN_EPOCHS).set_value(3)
    at.select_slider(key=state.TRAIN_BATCH).set_value(32).run()


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
    parser.add_argument("--runs", type=int, default=20)
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
    _tiny(at, state)
    reruns = []
    for value in (0.1, 0.2, 0.3, 0.4, 0.5, 0.1, 0.2, 0.3, 0.4, 0.5):
        started = time.perf_counter()
        at.slider(key=state.TRAIN_DROPOUT).set_value(value).run()
        reruns.append(time.perf_counter() - started)
    tensorflow_in_server = "tensorflow" in sys.modules
    time.sleep(25)  # let the spare worker finish importing TensorFlow: "once the app is warm"
    first_epochs = []
    rss = {}
    for index in range(1, args.runs + 1):
        first_epochs.append(_train_once(at, state, store))
        if index in (1, args.runs):
            rss[index] = rss_mb()
        time.sleep(3 if index < 3 else 0)  # the next spare warms up between the first runs
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
