import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.store import RunStore
from core.worker import start_background_run
from tests.conftest import ROOT, tiny_config

TINY = ["--samples", "300", "--features", "6", "--informative", "3", "--hidden", "8", "--dropout", "0",
        "--epochs", "3", "--batch-size", "32", "--seed", "1"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_train_json_prints_exactly_one_json_object(tmp_path):
    result = run_cli("train", *TINY, "--runs-dir", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {"run_id", "run_dir", "status", "test_accuracy", "test_loss", "best_epoch", "epochs_run",
            "stopped_early"} <= set(summary)
    assert summary["status"] == "completed" and Path(summary["run_dir"]).parent == tmp_path.resolve()


@pytest.mark.parametrize("args, words", [
    (["train", "--dropout", "1.0"], "dropout: must be in [0, 0.9]"),
    (["train", "--hidden", "64,x"], "--hidden takes sizes"),
    (["train", "--dataset", "cifar"], "invalid choice: 'cifar'"),
    (["train", "--features", "5", "--informative", "9"], "informative features (9) cannot exceed"),
    (["runs", "show", "../../etc"], "not a valid run id"),
    (["predict", "--run", "20260101-000000-abcdef", "--input", "x.csv"], "no run 20260101-000000-abcdef"),
    (["bogus"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, args, words):
    with pytest.raises(SystemExit) as exit_info:
        code = main([*args, "--runs-dir", str(tmp_path)]) if args[0] != "bogus" else main(args)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_runs_list_show_predict_and_export(finished_run, tmp_path, capsys):
    store, run_id, _ = finished_run
    root = str(store.root)
    assert main(["runs", "list", "--runs-dir", root, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert any(row["run_id"] == run_id and row["status"] == "completed" for row in listed)
    assert main(["--runs-dir", root, "runs", "show", run_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["metrics"]["test_accuracy"] > 0.5 and shown["config"]["model"]["hidden_units"] == [8]
    samples = tmp_path / "samples.npy"
    np.save(samples, np.zeros((3, 6)))
    assert main(["predict", "--run", run_id, "--input", str(samples), "--runs-dir", root]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("sample,predicted,p(") and len(lines) == 4
    target = tmp_path / "bundle.zip"
    assert main(["runs", "export", run_id, "--output", str(target), "--runs-dir", root]) == 0
    assert target.stat().st_size > 1000


def test_config_file_and_flags_combine(tmp_path, capsys):
    config_file = tmp_path / "config.json"
    config_file.write_text(tiny_config().to_json())
    assert main(["train", "--config", str(config_file), "--epochs", "2", "--runs-dir", str(tmp_path / "r"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs_run"] <= 2
    stored = RunStore(tmp_path / "r").load_run(summary["run_id"]).config
    assert stored.training.epochs == 2 and stored.model.hidden_units == (8,)


def _wait_for(store: RunStore, run_id: str, states: set, seconds: float = 240) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = store.load_run(run_id).state
        if state in states:
            return state
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} still {state} after {seconds}s")


def test_background_run_finishes_and_a_stop_marker_ends_it_cleanly(tmp_path):
    store = RunStore(tmp_path)
    done = start_background_run(tiny_config(), store)
    endless = start_background_run(tiny_config(epochs=500, early_stopping=False), store)
    assert _wait_for(store, done, {"completed", "failed"}) == "completed"
    deadline = time.monotonic() + 240
    while len(store.read_history(endless)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    store.request_stop(endless)
    assert _wait_for(store, endless, {"stopped", "failed", "completed"}) == "stopped"
    run = store.load_run(endless)
    assert 2 <= len(run.history) < 500 and run.metrics["stop_requested"]


def test_json_stdout_stays_one_object_when_keras_prints_while_downloading(tmp_path, monkeypatch, capsys):
    import types

    import keras  # noqa: F401  (real keras for training; only its MNIST loader is replaced)

    rng = np.random.default_rng(0)

    def noisy_download():
        print("Downloading data from https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz")
        images = rng.integers(0, 256, size=(400, 28, 28), dtype=np.uint8)
        labels = np.arange(400, dtype=np.uint8) % 10
        return (images[:300], labels[:300]), (images[300:], labels[300:])

    loader = types.ModuleType("keras.datasets.mnist")
    loader.load_data = noisy_download
    monkeypatch.setitem(sys.modules, "keras.datasets.mnist", loader)
    monkeypatch.delenv("MNIST_DIR", raising=False)
    code = main(["train", "--dataset", "mnist", "--hidden", "8", "--epochs", "1", "--batch-size", "32",
                 "--runs-dir", str(tmp_path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["status"] == "completed"
    assert "Downloading data from" in err
