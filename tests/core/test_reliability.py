"""Interrupted runs and several writers: the run store stays readable and nothing collides."""
import json
import os
import signal
import subprocess
import sys
import time

from core.store import RunStore
from core.worker import start_background_run
from tests.conftest import ROOT, tiny_config


def _wait(predicate, seconds=240):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_killed_worker_leaves_a_readable_interrupted_run_and_the_next_run_works(tmp_path):
    store = RunStore(tmp_path)
    run_id = start_background_run(tiny_config(epochs=500, early_stopping=False), store)
    _wait(lambda: len(store.read_history(run_id)) >= 2)
    pid = int((store.run_path(run_id) / "worker.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    _wait(lambda: store.load_run(run_id).state == "interrupted", seconds=30)
    run = store.load_run(run_id)
    assert len(run.history) >= 2 and run.history["epoch"].tolist()[:2] == [1, 2]
    assert store.list_runs().set_index("run_id").loc[run_id, "status"] == "interrupted"
    store.delete_run(run_id)  # an interrupted run is not active: it can be cleaned up
    next_id = start_background_run(tiny_config(), store)
    _wait(lambda: not store.load_run(next_id).is_active)
    assert store.load_run(next_id).state == "completed"


def test_two_cli_processes_write_to_one_runs_dir_at_once(tmp_path):
    command = [sys.executable, "-m", "core", "--runs-dir", str(tmp_path), "train", "--samples", "300", "--features", "6",
               "--informative", "3", "--hidden", "8", "--epochs", "3", "--batch-size", "32", "--json"]
    processes = [subprocess.Popen(command + ["--seed", str(seed)], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    summaries = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        summaries.append(json.loads(out))
    assert summaries[0]["run_id"] != summaries[1]["run_id"]
    frame = RunStore(tmp_path).list_runs()
    assert sorted(frame["run_id"]) == sorted(s["run_id"] for s in summaries)
    assert set(frame["status"]) == {"completed"}
    for summary in summaries:
        run = RunStore(tmp_path).load_run(summary["run_id"])
        assert run.config.training.seed in (1, 2) and len(run.history) == summary["epochs_run"]
