"""Downloadable files made from a run: the self-contained bundle and CSV tables."""
from __future__ import annotations

import inspect
import io
import json
import zipfile

import numpy as np
import pandas as pd

from core import bundle_predict
from core.errors import TrainscopeError
from core.store import Run

BUNDLE_FILES = ("model.keras", "preprocessing.joblib", "preprocessing.json", "model_info.json", "config.json", "metrics.json")
REQUIRED_FILES = BUNDLE_FILES + ("test_examples.npy",)

README_TEMPLATE = """# Trainscope run {run_id}

Dataset: {dataset}. Classes: {classes}. Test accuracy: {accuracy}.

Files:
- `model.keras`: the trained Keras model (`keras.saving.load_model("model.keras")`).
- `preprocessing.json`: how raw features become model input, as plain numbers.
- `preprocessing.joblib`: the same preprocessing as a scikit-learn object. Load it only
  if you trust where this bundle came from (joblib files can run code when loaded).
- `predict.py`: predicts without Trainscope installed (needs numpy and tensorflow).
- `example_input.csv`: {n_examples} test samples as raw features, to try predict.py on.
- `config.json`, `metrics.json`, `history.csv`: the settings, test results and curves.

Try it:

    pip install numpy tensorflow
    python predict.py example_input.csv

Each input row holds {n_features} raw features{pixel_note}. Output: one CSV row per sample
with the predicted class and the probability of every class.
"""


def history_csv(run: Run) -> bytes:
    return run.history.to_csv(index=False).encode()


def report_csv(run: Run) -> bytes:
    if not run.metrics:
        raise TrainscopeError(f"run {run.run_id} has no test report (status: {run.state})")
    return pd.DataFrame(run.metrics["report"]).to_csv(index=False).encode()


def export_bundle(run: Run) -> bytes:
    """A zip that loads and predicts on its own: model, preprocessing, predict.py, README."""
    missing = [name for name in REQUIRED_FILES if not (run.path / name).exists()]
    if missing:
        raise TrainscopeError(f"run {run.run_id} cannot be bundled: {', '.join(missing)} missing (status: {run.state})")
    spec = json.loads((run.path / "preprocessing.json").read_text())
    info = json.loads((run.path / "model_info.json").read_text())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in BUNDLE_FILES:
            archive.write(run.path / name, name)
        archive.writestr("predict.py", inspect.getsource(bundle_predict))
        archive.writestr("history.csv", history_csv(run))
        archive.writestr("example_input.csv", _example_input(run, spec))
        archive.writestr("README.md", _readme(run, spec, info))
    return buffer.getvalue()


def _example_input(run: Run, spec: dict) -> str:
    """A few raw test samples, so predict.py can be tried at once."""
    features = np.load(run.path / "test_examples.npy", allow_pickle=False)
    raw = bundle_predict.invert_preprocessing(spec, features)
    return pd.DataFrame(raw).to_csv(index=False, header=False, float_format="%.6g")


def _readme(run: Run, spec: dict, info: dict) -> str:
    accuracy = run.metrics.get("test_accuracy") if run.metrics else None
    return README_TEMPLATE.format(
        run_id=run.run_id,
        dataset=info["dataset"],
        classes=", ".join(info["class_names"]),
        accuracy=f"{accuracy:.4f}" if accuracy is not None else "n/a",
        n_examples=len(np.load(run.path / "test_examples.npy", allow_pickle=False)),
        n_features=spec["n_features"],
        pixel_note=f" (flattened pixel values 0-{round(1 / spec['factor'])})" if spec["kind"] == "rescale" else "",
    )
