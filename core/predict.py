"""Predictions with a stored run, through the same code the bundle's predict.py runs."""
from __future__ import annotations

import io
import tempfile
import zipfile
import zlib
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
    return _predict(*bundle_predict.load_bundle(run.path), input_path)


def _predict(model, spec: dict, info: dict, input_path: str | Path) -> pd.DataFrame:
    try:
        raw = bundle_predict.read_input(input_path, spec["n_features"], info.get("image_shape"))
    except bundle_predict.InputError as exc:
        raise DataFormatError(str(exc)) from None
    class_names = info["class_names"]
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
        try:
            payload = archive.read(name)
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
            raise DataFormatError(f"the bundle's {name} cannot be unpacked ({exc})") from None
        (folder / name).write_bytes(payload)


def predict_with_bundle(payload: bytes, input_path: str | Path) -> pd.DataFrame:
    """Predictions from an uploaded bundle: safe-mode Keras model, JSON preprocessing."""
    with tempfile.TemporaryDirectory() as folder:
        unpack_bundle(payload, Path(folder))
        try:
            model, spec, info = bundle_predict.load_bundle(Path(folder))
        except Exception as exc:  # a damaged or foreign model file: say so, in one line
            raise DataFormatError(f"the bundle's model or settings cannot be loaded ({type(exc).__name__}: {str(exc)[:200]})") from None
        check_bundle_parts(model, spec, info)
        return _predict(model, spec, info, input_path)


def _numbers(values, count: int) -> bool:
    """A JSON list of count finite numbers (no strings, no booleans)."""
    return (isinstance(values, list) and len(values) == count
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in values))


def _spec_problem(spec) -> str | None:
    """Why an uploaded preprocessing.json cannot be applied, or None."""
    if not isinstance(spec, dict):
        return "preprocessing.json must be a JSON object"
    n = spec.get("n_features")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        return "preprocessing.json needs n_features, a whole number of at least 1"
    if spec.get("kind") == "standardize":
        if _numbers(spec.get("mean"), n) and _numbers(spec.get("scale"), n) and 0 not in spec["scale"]:
            return None
        return f"preprocessing.json needs {n} finite means and {n} non-zero scales"
    if spec.get("kind") == "rescale":
        return None if _numbers([spec.get("factor")], 1) and spec["factor"] > 0 else \
            "preprocessing.json needs a positive rescale factor"
    return "preprocessing.json: kind must be standardize or rescale"


def check_bundle_parts(model, spec, info) -> None:
    """An uploaded bundle's JSON is untrusted: its parts must fit each other before anything is predicted."""
    class_names = info.get("class_names") if isinstance(info, dict) else None
    image_shape = info.get("image_shape") if isinstance(info, dict) else None
    shapes = (model.input_shape, model.output_shape)
    if not all(isinstance(shape, tuple) and len(shape) == 2 for shape in shapes):
        problem = "the model must take rows of features and give one row of class scores per sample"
    else:
        classes = 2 if shapes[1][1] == 1 else shapes[1][1]
        problem = _spec_problem(spec)
        if problem is None and shapes[0][1] != spec["n_features"]:
            problem = f"the model takes {shapes[0][1]} features but preprocessing.json says {spec['n_features']}"
        names_ok = isinstance(class_names, list) and all(isinstance(name, str) for name in class_names)
        if problem is None and not (names_ok and len(class_names) == classes):
            problem = f"model_info.json needs {classes} class names, one per model output"
        if problem is None and image_shape is not None and not (
                isinstance(image_shape, list) and len(image_shape) == 2
                and all(isinstance(side, int) and side > 0 for side in image_shape)
                and image_shape[0] * image_shape[1] == spec["n_features"]):
            problem = "model_info.json's image_shape must be [height, width] with one pixel per feature"
    if problem:
        raise DataFormatError(f"the bundle does not fit together: {problem}")
