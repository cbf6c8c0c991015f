"""Predictions with a stored run, through the same code the bundle's predict.py runs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core import bundle_predict
from core.errors import DataFormatError, TrainscopeError
from core.store import RunStore


def predict_with_run(store: RunStore, run_id: str, input_path: str | Path) -> pd.DataFrame:
    """Predicted class and per-class probabilities for each sample in a CSV or .npy file."""
    run = store.load_run(run_id)
    if not (run.path / "model.keras").exists():
        raise TrainscopeError(f"run {run_id} has no trained model (status: {run.state})")
    model, spec, class_names = bundle_predict.load_bundle(run.path)
    try:
        raw = bundle_predict.read_input(input_path, spec["n_features"])
    except bundle_predict.InputError as exc:
        raise DataFormatError(str(exc)) from None
    probabilities = bundle_predict.predict_probabilities(model, spec, raw, len(class_names))
    return predictions_frame(class_names, probabilities)


def predictions_frame(class_names: list[str], probabilities: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(probabilities, columns=[f"p({name})" for name in class_names])
    frame.insert(0, "predicted", [class_names[i] for i in probabilities.argmax(axis=1)])
    return frame
