import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from core.bundle import export_bundle, history_csv, report_csv
from core.errors import DataFormatError, RunNotFoundError
from core.predict import predict_with_run
from core.store import RUN_ID_PATTERN, RunStore, StoreError
from tests.conftest import tiny_config


def test_run_folder_holds_everything_and_round_trips(finished_run):
    store, run_id, summary = finished_run
    run = store.load_run(run_id)
    for name in ("config.json", "status.json", "history.jsonl", "metrics.json", "model.keras",
                 "preprocessing.joblib", "preprocessing.json", "versions.json", "misclassified.npz"):
        assert (run.path / name).is_file(), name
    assert run.config == tiny_config()
    assert run.state == "completed"
    assert len(run.history) == summary["epochs_run"] == run.metrics["epochs_run"]
    assert run.metrics["test_accuracy"] == summary["test_accuracy"]
    assert np.array(run.metrics["confusion_matrix"]).sum() == run.metrics["sizes"]["test"]
    assert "tensorflow" in json.loads((run.path / "versions.json").read_text())


def test_listing_is_a_dataframe_newest_first(tmp_path):
    store = RunStore(tmp_path)
    ids = [store.create_run(tiny_config()) for _ in range(3)]
    frame = store.list_runs()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["run_id"]) == sorted(ids, reverse=True)
    assert set(frame["status"]) == {"queued"}
    assert frame.loc[0, "layers"] == "8" and frame.loc[0, "dataset"] == "synthetic"


def test_run_ids_never_collide_within_a_second(tmp_path):
    store = RunStore(tmp_path)
    ids = {store.create_run(tiny_config()) for _ in range(50)}
    assert len(ids) == 50 and all(RUN_ID_PATTERN.match(i) for i in ids)


@pytest.mark.parametrize("bad", ["../etc", "/etc/passwd", "..", "20260101-120000-abcdeg", "", None])
def test_run_ids_that_could_leave_the_runs_dir_are_refused(tmp_path, bad):
    with pytest.raises(RunNotFoundError):
        RunStore(tmp_path).run_path(bad)


def test_symlinked_run_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    store = RunStore(tmp_path / "runs")
    store.root.mkdir()
    (store.root / "20260101-120000-abcdef").symlink_to(outside)
    with pytest.raises(RunNotFoundError):
        store.run_path("20260101-120000-abcdef")
    assert store.run_ids() == []


def test_history_is_appended_and_a_torn_last_line_is_ignored(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run(tiny_config())
    store.append_epoch(run_id, {"epoch": 1, "loss": 0.5, "val_loss": float("nan")})
    with open(store.run_path(run_id) / "history.jsonl", "a") as stream:
        stream.write('{"epoch": 2, "lo')
    history = store.read_history(run_id)
    assert history["epoch"].tolist() == [1] and history["val_loss"].isna().all()


def test_broken_run_is_listed_with_its_reason_not_raised(tmp_path):
    store = RunStore(tmp_path)
    good, broken = store.create_run(tiny_config()), store.create_run(tiny_config())
    (store.run_path(broken) / "config.json").write_text("{not json")
    frame = store.list_runs().set_index("run_id")
    assert frame.loc[broken, "status"] == "broken" and "unreadable" in frame.loc[broken, "problem"]
    assert frame.loc[good, "status"] == "queued"


def test_run_whose_process_died_shows_as_interrupted(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run(tiny_config())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.set_status(run_id, "running", pid=dead.pid)
    assert store.load_run(run_id).state == "interrupted"
    store.set_status(run_id, "running", pid=os.getpid())
    assert store.load_run(run_id).state == "running"


def test_delete_refuses_an_active_run_and_removes_a_finished_one(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run(tiny_config())
    store.set_status(run_id, "running", pid=os.getpid())
    with pytest.raises(StoreError, match="still training"):
        store.delete_run(run_id)
    store.set_status(run_id, "failed")
    store.delete_run(run_id)
    assert store.run_ids() == []


def test_unwritable_runs_dir_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot save runs"):
        RunStore(blocker / "runs").create_run(tiny_config())


def test_history_and_report_csv(finished_run):
    store, run_id, _ = finished_run
    run = store.load_run(run_id)
    history = pd.read_csv(io.BytesIO(history_csv(run)))
    assert list(history["epoch"]) == list(range(1, len(run.history) + 1))
    report = pd.read_csv(io.BytesIO(report_csv(run)))
    assert list(report["class"])[-2:] == ["macro avg", "weighted avg"]


def test_bundle_predicts_on_its_own_in_a_subprocess(finished_run, tmp_path):
    store, run_id, _ = finished_run
    archive = zipfile.ZipFile(io.BytesIO(export_bundle(store.load_run(run_id))))
    assert {"model.keras", "preprocessing.joblib", "preprocessing.json", "predict.py", "README.md",
            "example_input.csv", "history.csv"} <= set(archive.namelist())
    folder = tmp_path / "bundle"
    archive.extractall(folder)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "predict.py", "example_input.csv"], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("sample,predicted,p(")
    assert len(lines) == 6
    ours = predict_with_run(store, run_id, folder / "example_input.csv")
    assert [line.split(",")[1] for line in lines[1:]] == list(ours["predicted"])
    # the bundle's model reproduces the run's test predictions for its examples
    x_test = np.load(store.run_path(run_id) / "test_examples.npy")
    import keras

    model = keras.saving.load_model(store.run_path(run_id) / "model.keras")
    expected = (model.predict(x_test, verbose=0)[:, 0] > 0.5).astype(int)
    names = json.loads((store.run_path(run_id) / "model_info.json").read_text())["class_names"]
    assert list(ours["predicted"]) == [names[i] for i in expected]


@pytest.mark.parametrize("content, words", [
    ("1,2,3\n", "expected 6 features per sample, got 3"),
    ("1,2,3,4,5,nan\n", "NaN or infinite"),
    ("1,2,3,4,5,x\n", "must be a number"),
])
def test_predict_rejects_bad_input_with_a_clear_message(finished_run, tmp_path, content, words):
    store, run_id, _ = finished_run
    path = tmp_path / "input.csv"
    path.write_text(content)
    with pytest.raises(DataFormatError, match=words):
        predict_with_run(store, run_id, path)


def test_predict_reads_npy_and_refuses_pickled_npy(finished_run, tmp_path):
    store, run_id, _ = finished_run
    good = tmp_path / "good.npy"
    np.save(good, np.zeros((4, 6)))
    assert len(predict_with_run(store, run_id, good)) == 4
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataFormatError, match="not a readable .npy"):
        predict_with_run(store, run_id, pickled)


def test_full_disk_is_refused_before_training_and_saved_runs_stay(tmp_path, monkeypatch):
    import errno
    import tempfile

    store = RunStore(tmp_path)
    saved = store.create_run(tiny_config())

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", disk_full)
    with pytest.raises(StoreError, match="cannot save runs in .*No space left on device"):
        store.create_run(tiny_config())
    assert store.run_ids() == [saved] and store.load_run(saved).config == tiny_config()


def test_predict_takes_rows_or_images_of_the_models_shape_only(finished_run, tmp_path):
    store, run_id, _ = finished_run
    cube = tmp_path / "cube.npy"
    np.save(cube, np.zeros((2, 3, 2)))  # 6 numbers per sample, but not rows: refused, not guessed
    with pytest.raises(DataFormatError, match=r"expected one row of 6 features per sample; got an array of shape \(2, 3, 2\)"):
        predict_with_run(store, run_id, cube)
    from core.config import DataConfig, ModelConfig, RunConfig, TrainingConfig
    from core.experiment import run_experiment

    digits = run_experiment(RunConfig(DataConfig(dataset="digits"), ModelConfig(hidden_units=(8,)),
                                      TrainingConfig(batch_size=64, epochs=1)), RunStore(tmp_path / "runs"))["run_id"]
    images = tmp_path / "images.npy"
    np.save(images, np.full((3, 8, 8), 16))
    assert len(predict_with_run(RunStore(tmp_path / "runs"), digits, images)) == 3
