import warnings

import numpy as np
import pytest

from core.config import DataConfig, ModelConfig, RunConfig, TrainingConfig
from core.data import load_dataset
from core.errors import DataUnavailableError
from core.evaluate import classification_report_rows, evaluate_model
from core.experiment import run_experiment
from core.model import build_model
from core.store import RunStore
from core.train import TrainingDivergedError, seed_everything, train_model
from tests.conftest import tiny_config


@pytest.mark.parametrize("classes, units, activation, loss", [
    (2, 1, "sigmoid", "binary_crossentropy"),
    (10, 10, "softmax", "sparse_categorical_crossentropy"),
])
def test_output_layer_matches_the_task(classes, units, activation, loss):
    model = build_model(ModelConfig(hidden_units=(16, 8, 4), dropout=0.3), TrainingConfig(), input_dim=12, num_classes=classes)
    assert model.output_shape == (None, units)
    assert model.layers[-1].activation.__name__ == activation
    assert model.loss == loss
    dense = [layer for layer in model.layers if layer.name.startswith("hidden_")]
    assert [layer.units for layer in dense] == [16, 8, 4]
    assert sum(layer.name.startswith("dropout_") for layer in model.layers) == 3


def _anti_learning_data():
    """Validation labels are the opposite of training labels: validation loss rises from epoch 1."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    return x, y, x, 1 - y


def _fit(config: TrainingConfig, **hooks):
    seed_everything(config.seed)
    model = build_model(ModelConfig(hidden_units=(16,), dropout=0.0), config, input_dim=4, num_classes=2)
    x, y, x_val, y_val = _anti_learning_data()
    return model, train_model(model, x, y, x_val, y_val, config, **hooks), (x_val, y_val)


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    config = TrainingConfig(learning_rate=0.01, batch_size=32, epochs=30, patience=3)
    model, result, (x_val, y_val) = _fit(config)
    assert result.stopped_early
    assert result.epochs_run == result.best_epoch + 4 < 30
    assert result.kept_epoch == result.best_epoch
    kept_loss = model.evaluate(x_val, y_val, verbose=0)[0]
    recorded = result.history[result.best_epoch - 1]["val_loss"]
    assert kept_loss == pytest.approx(recorded, rel=1e-4)
    assert kept_loss < result.history[-1]["val_loss"]


def test_without_early_stopping_every_epoch_runs_and_the_last_weights_stay():
    config = TrainingConfig(learning_rate=0.01, batch_size=32, epochs=8, early_stopping=False, patience=0)
    model, result, (x_val, y_val) = _fit(config)
    assert result.epochs_run == 8 and not result.stopped_early
    assert result.kept_epoch == 8
    assert model.evaluate(x_val, y_val, verbose=0)[0] == pytest.approx(result.history[-1]["val_loss"], rel=1e-4)


def test_stop_request_ends_after_the_current_epoch_and_keeps_the_best_weights():
    seen = []
    config = TrainingConfig(learning_rate=0.01, batch_size=32, epochs=30, early_stopping=False)
    model, result, (x_val, y_val) = _fit(config, on_epoch=seen.append, should_stop=lambda: len(seen) >= 3)
    assert result.stop_requested and result.epochs_run == 3
    assert [row["epoch"] for row in seen] == [1, 2, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(seen[0])
    assert model.evaluate(x_val, y_val, verbose=0)[0] == pytest.approx(result.history[result.best_epoch - 1]["val_loss"], rel=1e-4)


def test_stopped_run_is_recorded_as_stopped_not_failed(tmp_path):
    store = RunStore(tmp_path)
    epochs = []
    summary = run_experiment(tiny_config(epochs=20, early_stopping=False), store, on_epoch=epochs.append,
                             should_stop=lambda: len(epochs) >= 2)
    run = store.load_run(summary["run_id"])
    assert run.state == "stopped" and summary["epochs_run"] == 2
    assert (run.path / "model.keras").exists() and len(run.history) == 2


def test_diverging_loss_stops_at_once_with_a_plain_reason():
    seed_everything(0)
    config = TrainingConfig(learning_rate=1.0, batch_size=32, epochs=20, early_stopping=False)
    model = build_model(ModelConfig(hidden_units=(16,), dropout=0.0), config, input_dim=4, num_classes=2)
    x, y, x_val, y_val = _anti_learning_data()
    seen = []
    with pytest.raises(TrainingDivergedError, match="smaller learning rate"):
        train_model(model, x * 1e30, y, x_val * 1e30, y_val, config, on_epoch=seen.append)
    assert len(seen) == 1


def test_same_config_and_seed_give_the_same_run(tmp_path):
    store = RunStore(tmp_path)
    first, second = (run_experiment(tiny_config(), store) for _ in range(2))
    assert first["test_accuracy"] == second["test_accuracy"]
    assert first["test_loss"] == pytest.approx(second["test_loss"], rel=1e-6)
    other = run_experiment(tiny_config(seed=2), store)
    assert other["test_loss"] != pytest.approx(first["test_loss"], rel=1e-6)


def test_runs_in_one_process_leave_no_graph_behind(tmp_path):
    """Memory must not grow run after run: every traced graph of a finished run is freed."""
    import gc

    from core.runtime import custom_gradient_names

    def live_graphs() -> int:
        gc.collect()
        return sum(type(o).__name__ == "FuncGraph" for o in gc.get_objects())

    store = RunStore(tmp_path)
    run_experiment(tiny_config(), store)
    graphs, gradients = live_graphs(), custom_gradient_names()
    for _ in range(2):
        run_experiment(tiny_config(), store)
    assert live_graphs() == graphs
    assert custom_gradient_names() == gradients


def test_a_run_whose_data_is_missing_is_recorded_as_failed(tmp_path, monkeypatch):
    def no_data(config):
        raise DataUnavailableError("MNIST is not here")

    monkeypatch.setattr("core.experiment.load_dataset", no_data)
    store = RunStore(tmp_path)
    with pytest.raises(DataUnavailableError):
        run_experiment(tiny_config(), store)
    [run_id] = store.run_ids()
    run = store.load_run(run_id)
    assert run.state == "failed" and run.status["error"] == "MNIST is not here"


class _FixedModel:
    """Stands in for a Keras model whose predictions never include class 2."""

    def __init__(self, probabilities):
        self.probabilities = probabilities

    def evaluate(self, x, y, verbose=0, batch_size=None):
        return 0.5, float((self.probabilities.argmax(1) == y).mean())

    def predict(self, x, verbose=0, batch_size=None):
        return self.probabilities


def test_evaluation_lists_a_class_that_is_never_predicted_without_warnings():
    y_true = np.array([0, 1, 2, 2, 1, 0])
    probabilities = np.eye(3)[[0, 1, 1, 0, 1, 0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluation = evaluate_model(_FixedModel(probabilities), np.zeros((6, 2)), y_true, ("a", "b", "c"))
    rows = {row["class"]: row for row in evaluation.report}
    assert rows["c"] == {"class": "c", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert evaluation.confusion_matrix.tolist() == [[2, 0, 0], [0, 2, 0], [1, 1, 0]]
    assert evaluation.misclassified.tolist() == [2, 3]
    assert evaluation.roc is None
    assert rows["macro avg"]["recall"] == pytest.approx((1 + 1 + 0) / 3)


def test_binary_evaluation_has_roc_and_two_probability_columns():
    y_true = np.array([0, 0, 1, 1])
    model = _FixedModel(np.array([[0.1], [0.6], [0.4], [0.9]]))
    evaluation = evaluate_model(model, np.zeros((4, 2)), y_true, ("no", "yes"))
    assert evaluation.probabilities.shape == (4, 2)
    assert evaluation.roc["auc"] == pytest.approx(0.75)
    assert evaluation.y_pred.tolist() == [0, 1, 0, 1]


def test_report_rows_cover_all_classes_even_when_absent_from_the_test_set():
    rows = classification_report_rows(np.array([0, 0]), np.array([0, 0]), ("x", "y", "z"))
    assert [row["class"] for row in rows] == ["x", "y", "z", "macro avg", "weighted avg"]


def test_digits_run_end_to_end_reaches_a_sensible_accuracy(tmp_path):
    config = RunConfig(DataConfig(dataset="digits"), ModelConfig(hidden_units=(32,), dropout=0.0),
                       TrainingConfig(batch_size=32, epochs=15))
    summary = run_experiment(config, RunStore(tmp_path))
    assert summary["test_accuracy"] > 0.85
    assert len(load_dataset(config.data).class_names) == 10
