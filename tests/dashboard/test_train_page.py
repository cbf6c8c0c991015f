"""AppTest drives the Train page headless: controls, validation, training, results."""
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.store import RunStore
from dashboard import state

from tests.conftest import ROOT

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINSCOPE_RUNS_DIR", str(tmp_path / "runs"))
    st.cache_data.clear()
    st.cache_resource.clear()
    return tmp_path / "runs"


def open_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def make_tiny(at: AppTest, dataset: str = "synthetic", epochs: int = 3) -> None:
    at.selectbox(key=state.TRAIN_DATASET).set_value(dataset).run()
    if dataset == "synthetic":
        at.slider(key=state.TRAIN_SAMPLES).set_value(300).run()
    at.slider(key=state.TRAIN_LAYERS).set_value(1).run()
    at.slider(key=state.TRAIN_UNITS.format(0)).set_value(8)
    at.select_slider(key=state.TRAIN_BATCH).set_value(32)
    at.slider(key=state.TRAIN_EPOCHS).set_value(epochs).run()


def wait_until_finished(at: AppTest, runs_dir, seconds: float = 240) -> str:
    run_id = at.session_state[state.TRAIN_RUN_ID]
    store = RunStore(runs_dir)
    deadline = time.monotonic() + seconds
    while store.load_run(run_id).is_active and time.monotonic() < deadline:
        time.sleep(0.5)
    at.run()
    return run_id


def test_landing_page_shows_controls_preview_and_train_button(runs_dir):
    at = open_app()
    assert at.title[0].value == "Train a neural network"
    assert at.selectbox(key=state.TRAIN_DATASET).value == "synthetic"
    assert len(at.get("plotly_chart")) == 1  # the data preview
    assert at.button(key=state.TRAIN_BUTTON).label == "Train"
    sliders = [s for s in at.slider if s.key.startswith("train.")]
    assert all(s.help for s in sliders), [s.label for s in sliders if not s.help]


def test_moving_controls_never_trains_or_reloads_data(runs_dir, monkeypatch):
    import dashboard.cache as cache

    calls = []
    real = cache.load_dataset
    monkeypatch.setattr(cache, "load_dataset", lambda config: calls.append(config) or real(config))
    at = open_app()
    loads = len(calls)
    at.slider(key=state.TRAIN_DROPOUT).set_value(0.2).run()
    at.slider(key=state.TRAIN_LAYERS).set_value(3).run()
    at.select_slider(key=state.TRAIN_LEARNING_RATE).set_value(0.01).run()
    at.toggle(key=state.TRAIN_EARLY_STOP).set_value(False).run()
    assert not at.exception
    assert len(calls) == loads
    assert not runs_dir.exists() or not list(runs_dir.iterdir())
    assert [s.label for s in at.slider if s.key.startswith("train.units_")] == [
        "Neurons in layer 1", "Neurons in layer 2", "Neurons in layer 3"]


def test_train_synthetic_shows_results_and_downloads(runs_dir):
    at = open_app()
    make_tiny(at)
    at.button(key=state.TRAIN_BUTTON).click().run()
    assert not at.exception and not at.error
    run_id = wait_until_finished(at, runs_dir)
    assert not at.exception
    assert [m.label for m in at.metric] == ["Test accuracy", "Test loss", "Macro F1", "Epochs"]
    run = RunStore(runs_dir).load_run(run_id)
    assert at.metric[0].value == f"{run.metrics['test_accuracy']:.1%}"
    assert run.config.model.hidden_units == (8,) and run.config.training.epochs == 3
    assert len(at.get("plotly_chart")) >= 4  # preview, loss, accuracy, confusion matrix (+ ROC)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Model (.keras)", "Preprocessing (.joblib)", "Bundle (.zip)", "History (.csv)", "Report (.csv)"]
    assert any(info.value.startswith("Validation loss") or "Early stopping" in info.value for info in at.info)
    at.toggle(key=state.RESULTS_NORMALIZE.format(f"train.{run_id}")).set_value(True).run()
    assert not at.exception and at.metric[0].value == f"{run.metrics['test_accuracy']:.1%}"


def test_train_digits_shows_mistakes_tab(runs_dir):
    at = open_app()
    make_tiny(at, dataset="digits", epochs=2)
    at.button(key=state.TRAIN_BUTTON).click().run()
    wait_until_finished(at, runs_dir)
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Confusion matrix", "Report", "Mistakes"]
    report = at.dataframe[0].value
    assert list(report["Class"])[:10] == [str(d) for d in range(10)]


def test_settings_that_cannot_work_give_a_message_and_no_run(runs_dir):
    at = open_app()
    at.slider(key=state.TRAIN_SAMPLES).set_value(100).run()
    at.select_slider(key=state.TRAIN_BATCH).set_value(1024).run()
    at.button(key=state.TRAIN_BUTTON).click().run()
    assert not at.exception
    assert at.error[0].value.startswith("Cannot start training. Batch size: 1024 is larger than the training set")
    assert not runs_dir.exists() or not list(runs_dir.iterdir())


def test_missing_mnist_explains_how_to_provide_it(runs_dir, tmp_path, monkeypatch):
    empty = tmp_path / "no-mnist"
    empty.mkdir()
    monkeypatch.setenv("MNIST_DIR", str(empty))
    at = open_app()
    at.selectbox(key=state.TRAIN_DATASET).set_value("mnist").run()
    assert not at.exception
    assert "cannot be loaded here" in at.warning[0].value and "MNIST_DIR" in at.warning[0].value
    assert at.button(key=state.TRAIN_BUTTON).disabled
    at.selectbox(key=state.TRAIN_DATASET).set_value("digits").run()
    assert not at.button(key=state.TRAIN_BUTTON).disabled


def test_stop_button_ends_the_run_and_keeps_it(runs_dir):
    at = open_app()
    make_tiny(at, epochs=200)
    at.toggle(key=state.TRAIN_EARLY_STOP).set_value(False).run()
    at.button(key=state.TRAIN_BUTTON).click().run()
    run_id = at.session_state[state.TRAIN_RUN_ID]
    store = RunStore(runs_dir)
    deadline = time.monotonic() + 240
    while len(store.read_history(run_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
    at.run()
    at.button(key=state.TRAIN_STOP).click().run()
    wait_until_finished(at, runs_dir)
    run = store.load_run(run_id)
    assert run.state == "stopped" and 2 <= len(run.history) < 200
    assert any("You stopped training" in info.value for info in at.info)


def test_results_survive_a_page_switch(runs_dir):
    at = open_app()
    make_tiny(at)
    at.slider(key=state.TRAIN_DROPOUT).set_value(0.1).run()
    at.button(key=state.TRAIN_BUTTON).click().run()
    run_id = wait_until_finished(at, runs_dir)
    at.switch_page("views/runs.py").run()
    at.switch_page("views/train.py").run()
    assert not at.exception
    assert at.session_state[state.TRAIN_RUN_ID] == run_id
    assert at.slider(key=state.TRAIN_DROPOUT).value == 0.1
    assert at.metric[0].label == "Test accuracy"


def test_exploding_training_is_reported_in_plain_words(runs_dir):
    at = open_app()
    at.slider(key=state.TRAIN_EPOCHS).set_value(5)
    at.selectbox(key=state.TRAIN_OPTIMIZER).set_value("sgd")
    at.select_slider(key=state.TRAIN_LEARNING_RATE).set_value(10.0).run()
    at.button(key=state.TRAIN_BUTTON).click().run()
    run_id = wait_until_finished(at, runs_dir)
    assert not at.exception
    assert RunStore(runs_dir).load_run(run_id).state == "failed"
    message = at.error[0].value
    assert message.startswith("Training failed: training went numerically wrong") and "smaller learning rate" in message


def test_unwritable_runs_dir_is_refused_before_training(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("runs cannot live under a file")
    monkeypatch.setenv("TRAINSCOPE_RUNS_DIR", str(blocker / "runs"))
    st.cache_resource.clear()
    at = open_app()
    at.button(key=state.TRAIN_BUTTON).click().run()
    assert not at.exception
    assert at.error[0].value.startswith("Cannot start training. Cannot save runs in")
    assert blocker.read_text() == "runs cannot live under a file"


def test_run_id_from_the_url_cannot_leave_the_runs_dir(runs_dir):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["run"] = "../../etc"
    at.run()
    assert not at.exception
    assert any("The link does not name a run" in info.value for info in at.info)
    assert "run" not in at.query_params


def test_a_run_opened_from_a_link_shows_its_own_settings_in_the_controls(runs_dir):
    from core.config import DataConfig, ModelConfig, RunConfig, TrainingConfig
    from core.experiment import run_experiment

    config = RunConfig(DataConfig(dataset="digits"), ModelConfig(hidden_units=(24, 12), dropout=0.1),
                       TrainingConfig(batch_size=32, epochs=2, learning_rate=0.003, seed=7))
    run_id = run_experiment(config, RunStore(runs_dir))["run_id"]
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    assert at.selectbox(key=state.TRAIN_DATASET).value == "digits"
    assert [at.slider(key=state.TRAIN_UNITS.format(i)).value for i in range(2)] == [24, 12]
    assert at.slider(key=state.TRAIN_DROPOUT).value == 0.1 and at.slider(key=state.TRAIN_SEED).value == 7
    assert at.select_slider(key=state.TRAIN_LEARNING_RATE).value == 0.003
    assert at.slider(key=state.TRAIN_EPOCHS).value == 2
    assert any(c.value.startswith("Digits 8x8 (scikit-learn): data seed 42, split 70/15/15 · layers 24-12")
               for c in at.caption)


def test_the_link_keeps_the_run_after_a_page_switch(runs_dir):
    at = open_app()
    make_tiny(at)
    at.button(key=state.TRAIN_BUTTON).click().run()
    run_id = wait_until_finished(at, runs_dir)
    at.query_params.pop("run", None)  # what st.navigation does on a page switch
    at.switch_page("views/runs.py").run()
    at.switch_page("views/train.py").run()
    assert at.query_params["run"] == run_id  # so a refresh now still finds the run


@pytest.mark.parametrize("phase, words", [(None, "Starting: loading the data and TensorFlow ("),
                                          ("training", "Training the first of 50 epochs: ")])
def test_before_the_first_epoch_the_progress_says_what_is_happening(runs_dir, phase, words):
    from core.config import RunConfig

    store = RunStore(runs_dir)
    run_id = store.create_run(RunConfig())  # queued, and no worker will take it
    store.set_status(run_id, "running", started="2026-01-01T00:00:00+00:00", **({"phase": phase} if phase else {}))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    text = at.get("progress")[0].proto.text
    assert text.startswith(words) and (" h " in text)  # a clock in hours, minutes: the run is that old


def test_a_first_epoch_written_while_the_page_draws_shows_at_once(runs_dir, monkeypatch):
    """Before the first epoch the live view watches for it, rather than showing it a poll later."""
    import threading

    from core.config import RunConfig

    store = RunStore(runs_dir)
    run_id = store.create_run(RunConfig())
    store.set_status(run_id, "running", started="2026-01-01T00:00:00+00:00", phase="training")
    row = {"epoch": 1, "loss": 0.6, "accuracy": 0.7, "val_loss": 0.65, "val_accuracy": 0.68, "seconds": 0.8}
    has_epochs, timer = RunStore.has_epochs, threading.Timer(0.1, store.append_epoch, (run_id, row))

    def epoch_written_once_the_page_looks(self, run_id):
        if not timer.is_alive() and not timer.finished.is_set():
            timer.start()  # the epoch lands while the page is already drawing
        return has_epochs(self, run_id)

    monkeypatch.setattr(RunStore, "has_epochs", epoch_written_once_the_page_looks)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    assert timer.finished.is_set()
    assert at.get("progress")[0].proto.text.startswith("Epoch 1 of 50")
