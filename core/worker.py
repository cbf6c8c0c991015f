"""Runs outside the caller: one worker process per run, handed off through the run folder.

The hand-off is small on purpose: the caller writes the config into a new run folder
and a worker process trains it, appending epochs and the final state there; a STOP
marker in the folder asks it to end after the current epoch. Another engine (a cluster
queue) only has to honour the same folder contract.

`WorkerPool` keeps one spare worker with TensorFlow already imported, so a run started
from the dashboard shows its first epoch in about a second instead of after the import.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from core.config import RunConfig
from core.model import training_step_flops
from core.store import RunStore, write_bytes_atomic
from core.runtime import SMALL_STEP_FLOPS

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _spawn(store: RunStore, worker_args: list[str], log_path: Path | None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "core", "--runs-dir", str(store.root.resolve()), "worker", *worker_args],
            cwd=PROJECT_ROOT, env=env, stdin=subprocess.PIPE if not log_path else subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    finally:
        if log_path:
            log.close()


def _record_pid(store: RunStore, run_id: str, pid: int) -> None:
    write_bytes_atomic(store.run_path(run_id) / "worker.pid", str(pid).encode())


def start_background_run(config: RunConfig, store: RunStore) -> str:
    """Create the run, start a fresh worker process for it and return the run id at once."""
    run_id = store.create_run(config)
    process = _spawn(store, [run_id], store.run_path(run_id) / "worker.log")
    _record_pid(store, run_id, process.pid)
    return run_id


class WorkerPool:
    """Starts runs on a pre-warmed spare worker (one run per process, as before).

    Shared by all sessions of one server, hence the lock; it holds process handles only,
    never a model. A spare that died is simply replaced.
    """

    def __init__(self, store: RunStore):
        self.store = store
        self._lock = threading.Lock()
        self._spare: subprocess.Popen | None = None
        self._handed: list[subprocess.Popen] = []

    def start_run(self, config: RunConfig) -> str:
        run_id = self.store.create_run(config)
        with self._lock:
            self._handed = [p for p in self._handed if p.poll() is None]  # reap finished workers
            process = self._hand_to_spare(run_id) if self._suits_spare(config) else None
            if process is None:
                process = _spawn(self.store, [run_id], self.store.run_path(run_id) / "worker.log")
            self._handed.append(process)
        _record_pid(self.store, run_id, process.pid)
        return run_id

    def warm_up(self) -> None:
        """Start a spare unless one is alive. Callers do it when no run of theirs trains: a spare's
        warm-up takes a core for seconds, which would slow a run's epochs."""
        with self._lock:
            if self._spare is None or self._spare.poll() is not None:
                self._spare = _spawn(self.store, ["--wait"], None)

    def _suits_spare(self, config: RunConfig) -> bool:
        """The spare is set up for small steps (one thread); large steps get a fresh worker with TF defaults."""
        data = config.data
        flops = training_step_flops(config.model, data.input_dim, data.num_classes, config.training.batch_size)
        return flops < SMALL_STEP_FLOPS

    def _hand_to_spare(self, run_id: str) -> subprocess.Popen | None:
        spare, self._spare = self._spare, None
        if spare is None or spare.poll() is not None:
            return None
        try:
            spare.stdin.write(f"{run_id}\n".encode())
            spare.stdin.close()
        except OSError:
            return None
        return spare


def _warm_up() -> None:
    """Pay the one-time costs (imports, TensorFlow's start, a first trace) before a run waits."""
    from core.config import DataConfig, ModelConfig, TrainingConfig
    from core.data import load_dataset
    from core.evaluate import evaluate_model
    from core.experiment import release_keras_memory
    from core.model import build_model
    from core.runtime import configure_tensorflow, custom_gradient_names
    from core.train import train_model

    configure_tensorflow(0)
    gradients_before = custom_gradient_names()
    data = load_dataset(DataConfig(n_samples=100, n_features=4))  # imports scikit-learn's loaders
    training = TrainingConfig(batch_size=16, epochs=1)
    model = build_model(ModelConfig(hidden_units=(4,)), training, input_dim=4, num_classes=2)
    train_model(model, data.x_train, data.y_train, data.x_val, data.y_val, training)
    evaluate_model(model, data.x_test, data.y_test, data.class_names)
    release_keras_memory(gradients_before)  # now, not when the run is waiting for its first epoch


def wait_for_run(store: RunStore) -> int:
    """The spare's side: import TensorFlow, then train the run id that arrives on stdin."""
    _warm_up()
    line = sys.stdin.readline().strip()
    if not line:
        return 0  # the server went away before handing over a run
    log = open(store.run_path(line) / "worker.log", "ab")
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    run_worker(store, line)
    return 0


def run_worker(store: RunStore, run_id: str) -> dict:
    """The worker's side: train the run whose config waits in its folder."""
    from core.experiment import run_experiment

    config = store.load_run(run_id).config
    return run_experiment(config, store, run_id=run_id)
