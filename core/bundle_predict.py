"""Predict with a Trainscope bundle, without Trainscope installed.

    python predict.py INPUT.csv            # or INPUT.npy; prints one CSV row per sample
    python predict.py INPUT.npy --output predictions.csv

Needs numpy and keras (pip install tensorflow). Each input row holds the raw features
(for images: the flattened pixel values 0-255). The preprocessing is read from
preprocessing.json (plain numbers), never unpickled; the model is loaded in Keras' safe mode.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


class InputError(ValueError):
    """The input file is not what this model expects."""


def read_input(path: str | Path, n_features: int, image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Load a CSV (an optional header row is skipped) or .npy file as (samples, features).

    A .npy may also hold images of the model's image shape; they are flattened.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file {path} does not exist")
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise InputError(f"{path.name} is not a readable .npy array ({exc})") from None
    elif path.suffix.lower() in (".csv", ".txt"):
        array = _read_csv(path)
    else:
        raise InputError(f"{path.name}: expected a .csv or .npy file")
    return check_features(array, n_features, path.name, image_shape)


def _read_csv(path: Path) -> np.ndarray:
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            rows = [row for row in csv.reader(stream) if row]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path.name} is not a readable CSV text file ({exc})") from None
    first = 1
    if rows and _is_header(rows[0]):
        rows, first = rows[1:], 2
    for number, row in enumerate(rows, start=first):
        if len(row) != len(rows[0]):
            raise InputError(f"{path.name}: line {number} has {len(row)} values, line {first} has {len(rows[0])}; "
                             "every sample needs the same number of features")
    try:
        return np.array([[float(value) for value in row] for row in rows], dtype=np.float64)
    except ValueError as exc:
        raise InputError(f"{path.name}: every value must be a number ({exc})") from None


def _is_header(row: list[str]) -> bool:
    """A header row holds names only; a row with some numbers is data (and checked as such)."""
    for value in row:
        try:
            float(value)
            return False
        except ValueError:
            continue
    return True


def check_features(array: np.ndarray, n_features: int, name: str = "input",
                   image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Rows of numbers, finite, with the model's feature count (images of its shape are flattened)."""
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise InputError(f"{name}: expected whole or decimal numbers, got {array.dtype}")
    if array.ndim == 0 or array.size == 0:
        raise InputError(f"{name}: no samples found")
    images = image_shape is not None and array.ndim == 3 and array.shape[1:] == tuple(image_shape)
    if array.ndim > 2 and not images:
        pictures = f", or images of {image_shape[0]}x{image_shape[1]}" if image_shape else ""
        raise InputError(f"{name}: expected one row of {n_features} features per sample{pictures}; "
                         f"got an array of shape {array.shape}")
    array = array.reshape(1, -1) if array.ndim == 1 else array.reshape(len(array), -1)
    if array.shape[1] != n_features:
        raise InputError(f"{name}: expected {n_features} features per sample, got {array.shape[1]}")
    if not np.isfinite(array).all():
        bad = int(np.argwhere(~np.isfinite(array))[0][0])
        raise InputError(f"{name}: sample {bad} holds NaN or infinite values; only finite numbers are allowed")
    return array.astype(np.float32)


def apply_preprocessing(spec: dict, raw: np.ndarray) -> np.ndarray:
    """The fitted preprocessing, from its plain-JSON description."""
    if spec["kind"] == "standardize":
        return ((raw - np.asarray(spec["mean"])) / np.asarray(spec["scale"])).astype(np.float32)
    if spec["kind"] == "rescale":
        return (raw * spec["factor"]).astype(np.float32)
    raise InputError(f"unknown preprocessing kind {spec['kind']!r}")


def invert_preprocessing(spec: dict, features: np.ndarray) -> np.ndarray:
    """Back from model input to raw features (used to write an example input)."""
    if spec["kind"] == "standardize":
        return features * np.asarray(spec["scale"]) + np.asarray(spec["mean"])
    return np.rint(features / spec["factor"])


@contextlib.contextmanager
def stderr_silenced():
    """TensorFlow's C++ start-up logs (oneDNN, CUDA) ignore TF_CPP_MIN_LOG_LEVEL: hide fd 2 meanwhile."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and Keras without the banner; Python errors still surface once stderr is back."""
    if "keras" in sys.modules:
        return
    with stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery logs "no CUDA" errors on CPU machines
        import keras  # noqa: F401


def load_bundle(folder: Path = HERE):
    """The model (safe mode), preprocessing spec and model info (class names, image shape) in folder."""
    import_tensorflow_quietly()
    import keras

    spec = json.loads((folder / "preprocessing.json").read_text())
    info = json.loads((folder / "model_info.json").read_text())
    model = keras.saving.load_model(folder / "model.keras", compile=False, safe_mode=True)
    return model, spec, info


def predict_probabilities(model, spec: dict, raw: np.ndarray, n_classes: int) -> np.ndarray:
    """One probability column per class (a single sigmoid unit becomes two columns)."""
    output = np.asarray(model.predict(apply_preprocessing(spec, raw), verbose=0, batch_size=1024), dtype=np.float64)
    if n_classes == 2 and output.shape[-1] == 1:
        return np.column_stack([1.0 - output[:, 0], output[:, 0]])
    return output


def format_rows(class_names: list[str], probabilities: np.ndarray) -> list[list[str]]:
    header = ["sample", "predicted"] + [f"p({name})" for name in class_names]
    rows = [[str(i), class_names[int(p.argmax())]] + [f"{v:.6f}" for v in p] for i, p in enumerate(probabilities)]
    return [header] + rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Predict classes with this bundle's model.")
    parser.add_argument("input", help="a .csv or .npy file, one sample per row")
    parser.add_argument("--output", help="write the predictions to this CSV instead of printing them")
    args = parser.parse_args(argv)
    model, spec, info = load_bundle()
    class_names = info["class_names"]
    try:
        raw = read_input(args.input, spec["n_features"], info.get("image_shape"))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = format_rows(class_names, predict_probabilities(model, spec, raw, len(class_names)))
    stream = open(args.output, "w", newline="") if args.output else sys.stdout
    csv.writer(stream).writerows(rows)
    if args.output:
        stream.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
