"""Predictions with a stored run, through the same code the bundle's predict.py runs."""
from __future__ import annotations

import io
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
    return _predict(model, spec, class_names, input_path)


def _predict(model, spec: dict, class_names: list[str], input_path: str | Path) -> pd.DataFrame:
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


BUNDLE_MEMBERS = {"model.keras", "preprocessing.json", "model_info.json"}
MAX_BUNDLE_BYTES = 200 * 1024 * 1024  # unpacked: a guard against zip bombs


def unpack_bundle(payload: bytes, folder: Path) -> None:
    """Extract only what predicting needs from an uploaded bundle; never its pickles.

    Members are written under fixed names (no paths from the archive are used), their
    unpacked size is capped, and preprocessing.joblib is ignored.
    """
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
        members = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError) as exc:
        raise DataFormatError(f"the bundle is not a valid .zip file ({exc})") from None
    missing = sorted(BUNDLE_MEMBERS - set(members))
    if missing:
        raise DataFormatError(f"the bundle lacks {', '.join(missing)}; expected a Trainscope bundle .zip")
    if sum(members[name].file_size for name in BUNDLE_MEMBERS) > MAX_BUNDLE_BYTES:
        raise DataFormatError(f"the bundle unpacks to more than {MAX_BUNDLE_BYTES // 2**20} MB")
    for name in BUNDLE_MEMBERS:
        (folder / name).write_bytes(archive.read(name))


def predict_with_bundle(payload: bytes, input_path: str | Path) -> pd.DataFrame:
    """Predictions from an uploaded bundle: safe-mode Keras model, JSON preprocessing."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        unpack_bundle(payload, Path(folder))
        try:
            model, spec, class_names = bundle_predict.load_bundle(Path(folder))
        except Exception as exc:  # a damaged or foreign model file: say so, in one line
            raise DataFormatError(f"the bundle's model or settings cannot be loaded ({type(exc).__name__}: {str(exc)[:200]})") from None
        return _predict(model, spec, class_names, input_path)
