"""Runs outside the caller: one worker process per run, handed off through the run folder.

The hand-off is small on purpose: the caller writes the config into a new run folder
and starts `python -m core worker RUN_ID`; the worker appends epochs and the final
state there; a STOP marker in the folder asks it to end after the current epoch.
Another engine (a pool, a cluster) only has to honour the same folder contract.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.config import RunConfig
from core.store import RunStore, write_bytes_atomic

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def start_background_run(config: RunConfig, store: RunStore) -> str:
    """Create the run, start its worker process and return the run id at once."""
    run_id = store.create_run(config)
    path = store.run_path(run_id)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with open(path / "worker.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "core", "--runs-dir", str(store.root.resolve()), "worker", run_id],
            cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    write_bytes_atomic(path / "worker.pid", str(process.pid).encode())
    return run_id


def run_worker(store: RunStore, run_id: str) -> dict:
    """The worker's side: train the run whose config waits in its folder."""
    from core.experiment import run_experiment

    config = store.load_run(run_id).config
    return run_experiment(config, store, run_id=run_id)
