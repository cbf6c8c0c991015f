"""run_experiment: the one call that wires data, model, training, evaluation and the store."""
from __future__ import annotations

import gc
import io
import os
import traceback
from typing import Callable

import joblib
import numpy as np

from core.config import RunConfig, check_against_data
from core.data import Dataset, load_dataset
from core.errors import TrainscopeError
from core.evaluate import Evaluation, evaluate_model
from core.model import build_model, training_step_flops
from core.preprocess import preprocessing_spec
from core.store import RunStore, now_iso
from core.runtime import configure_tensorflow, custom_gradient_names, forget_custom_gradients
from core.train import TrainingResult, seed_everything, train_model

MISCLASSIFIED_KEPT = 64
EXAMPLES_KEPT = 5


def run_experiment(
    config: RunConfig,
    store: RunStore,
    run_id: str | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Train and record one run; returns the summary the CLI prints.

    Errors a user can fix (bad settings, missing data, divergence) end the run as
    failed with the reason; the run folder always ends in a final state.
    """
    run_id = run_id or store.create_run(config)
    gradients_before = custom_gradient_names()
    store.set_status(run_id, "running", pid=os.getpid(), started=now_iso(), error=None)

    def record_epoch(row: dict) -> None:
        store.append_epoch(run_id, row)
        if on_epoch:
            on_epoch(row)

    def stop_now() -> bool:
        return store.stop_requested(run_id) or bool(should_stop and should_stop())

    try:
        dataset = load_dataset(config.data)
        check_against_data(config, len(dataset.y_train))
        store.set_status(run_id, "running", phase="training")
        model, result, evaluation = _fit_and_evaluate(config, dataset, record_epoch, stop_now)
        _save_results(store, run_id, model, dataset, result, evaluation)
        state = "stopped" if result.stop_requested else "completed"
        store.set_status(run_id, state, finished=now_iso())
        return _summary(store, run_id, state, result, evaluation)
    except TrainscopeError as exc:
        store.set_status(run_id, "failed", error=str(exc), finished=now_iso())
        raise
    except Exception as exc:
        store.set_status(run_id, "failed", error=f"internal error: {exc!r}", finished=now_iso(),
                         traceback=traceback.format_exc(limit=8))
        raise
    finally:
        release_keras_memory(gradients_before)


def _fit_and_evaluate(config: RunConfig, dataset: Dataset, on_epoch, should_stop):
    configure_tensorflow(training_step_flops(config.model, dataset.input_dim, dataset.num_classes, config.training.batch_size))
    seed_everything(config.training.seed)  # the previous run in this process cleared Keras on its way out
    model = build_model(config.model, config.training, dataset.input_dim, dataset.num_classes)
    result = train_model(
        model, dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val,
        config.training, on_epoch=on_epoch, should_stop=should_stop,
    )
    evaluation = evaluate_model(model, dataset.x_test, dataset.y_test, dataset.class_names)
    return model, result, evaluation


def release_keras_memory(gradients_before: frozenset[str]) -> None:
    """Many runs in one process must not pile up graphs and weights."""
    import keras

    keras.backend.clear_session()
    forget_custom_gradients(gradients_before)
    gc.collect()


def _save_results(store: RunStore, run_id: str, model, dataset: Dataset, result: TrainingResult, evaluation: Evaluation) -> None:
    path = store.run_path(run_id)
    tmp_model = path / ".model.tmp.keras"
    model.save(tmp_model)
    os.replace(tmp_model, path / "model.keras")
    buffer = io.BytesIO()
    joblib.dump(dataset.preprocessing, buffer)
    store.write_file(run_id, "preprocessing.joblib", buffer.getvalue())
    store.write_json(run_id, "preprocessing.json", preprocessing_spec(dataset.preprocessing, dataset.input_dim))
    store.write_json(run_id, "model_info.json", _model_info(dataset))
    store.write_file(run_id, "misclassified.npz", _misclassified_npz(dataset, evaluation))
    store.write_file(run_id, "test_examples.npy", _npy_bytes(dataset.x_test[:EXAMPLES_KEPT]))
    store.write_json(run_id, "metrics.json", _metrics(dataset, result, evaluation))


def _model_info(dataset: Dataset) -> dict:
    return {
        "dataset": dataset.name,
        "task": dataset.task,
        "class_names": list(dataset.class_names),
        "input_dim": dataset.input_dim,
        "image_shape": list(dataset.image_shape) if dataset.image_shape else None,
        "source": dataset.source,
    }


def _metrics(dataset: Dataset, result: TrainingResult, evaluation: Evaluation) -> dict:
    return {
        "test_loss": evaluation.test_loss,
        "test_accuracy": evaluation.test_accuracy,
        "macro_f1": evaluation.macro_f1,
        "weighted_f1": evaluation.weighted_f1,
        "roc_auc": evaluation.roc["auc"] if evaluation.roc else None,
        "roc": evaluation.roc,
        "best_epoch": result.best_epoch,
        "kept_epoch": result.kept_epoch,
        "epochs_run": result.epochs_run,
        "stopped_early": result.stopped_early,
        "stop_requested": result.stop_requested,
        "report": evaluation.report,
        "confusion_matrix": evaluation.confusion_matrix.tolist(),
        "class_names": list(dataset.class_names),
        "n_misclassified": int(len(evaluation.misclassified)),
        "sizes": {"train": len(dataset.y_train), "validation": len(dataset.y_val), "test": len(dataset.y_test)},
    }


def _misclassified_npz(dataset: Dataset, evaluation: Evaluation) -> bytes:
    """The first misclassified test samples, with their pictures for image data."""
    indices = evaluation.misclassified[:MISCLASSIFIED_KEPT]
    probabilities = evaluation.probabilities[indices]
    images = dataset.x_test[indices].reshape(-1, *dataset.image_shape) if dataset.image_shape else np.zeros((0,))
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        indices=indices,
        y_true=dataset.y_test[indices],
        y_pred=evaluation.y_pred[indices],
        confidence=probabilities.max(axis=1) if len(indices) else np.zeros(0),
        images=images.astype(np.float32),
    )
    return buffer.getvalue()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _summary(store: RunStore, run_id: str, state: str, result: TrainingResult, evaluation: Evaluation) -> dict:
    return {
        "run_id": run_id,
        "run_dir": str(store.run_path(run_id).resolve()),
        "status": state,
        "test_accuracy": evaluation.test_accuracy,
        "test_loss": evaluation.test_loss,
        "macro_f1": evaluation.macro_f1,
        "best_epoch": result.best_epoch,
        "kept_epoch": result.kept_epoch,
        "epochs_run": result.epochs_run,
        "stopped_early": result.stopped_early,
    }
