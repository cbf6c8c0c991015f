"""load_dataset(DataConfig) -> Dataset: every dataset split, preprocessed and read-only.

Arrays are made read-only because the dashboard caches one Dataset and shares it between
sessions; nobody may modify it in place. Loading is deterministic for a given config.
scikit-learn (a second to import) is imported when data is loaded, not with this module,
so the dashboard can draw its controls from the names here before paying for it.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.config import DataConfig
from core.errors import ConfigError, DataFormatError, DataUnavailableError
from core.idx import find_idx_set, read_idx_pair
from core.preprocess import fit_standardizer, pixel_rescaler
from core.runtime import import_tensorflow_quietly

DATASET_LABELS = {
    "synthetic": "Synthetic (binary)",
    "mnist": "MNIST digits",
    "fashion_mnist": "Fashion-MNIST",
    "digits": "Digits 8x8 (scikit-learn)",
}
_DESCRIPTIONS = {
    "synthetic": "Made-up points in two groups, generated on the spot: "
    "a quick yes/no task where you control how hard it is.",
    "mnist": "Handwritten digits 0-9, 28x28 pixel photos: the classic first image task.",
    "fashion_mnist": "Small 28x28 photos of clothes and shoes in 10 kinds (shirt, sneaker, bag...): "
    "like MNIST digits but harder.",
    "digits": "Tiny 8x8 pictures of handwritten digits 0-9 that come with scikit-learn: "
    "works offline and trains in seconds.",
}
SPLIT_FRACTION = 0.15  # validation and test share of synthetic and digits (70/15/15)
SYSTEM_FASHION_DIR = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist
DIGIT_NAMES = tuple(str(d) for d in range(10))


def describe_dataset(name: str) -> str:
    """One plain-language sentence about a dataset, for people who do not program."""
    return _DESCRIPTIONS[name]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Split, preprocessed data (see docs/architecture.md); eq=False since arrays do not compare."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    task: str
    image_shape: tuple[int, int] | None
    preprocessing: Any
    source: str

    def __post_init__(self) -> None:
        for part in ("train", "val", "test"):
            getattr(self, f"x_{part}").setflags(write=False)
            getattr(self, f"y_{part}").setflags(write=False)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_dim(self) -> int:
        return self.x_train.shape[1]

    @property
    def feature_names(self) -> tuple[str, ...]:
        if self.image_shape is not None:
            return tuple(f"pixel_{i}" for i in range(self.input_dim))
        return tuple(f"feature_{i + 1}" for i in range(self.input_dim))


def _split(x: np.ndarray, y: np.ndarray, n_second: int, seed: int) -> tuple[np.ndarray, ...]:
    """Seeded split into (x_a, x_b, y_a, y_b) with n_second rows in b.

    Stratified whenever scikit-learn can (each class twice, both parts at least one row per
    class); otherwise a plain seeded shuffle, so tiny custom datasets still load.
    """
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y)
    k = np.count_nonzero(counts)
    stratifiable = counts[counts > 0].min() >= 2 and min(n_second, len(y) - n_second) >= k
    stratify = y if stratifiable else None
    return tuple(train_test_split(x, y, test_size=n_second, random_state=seed, stratify=stratify))


def _subset(
    x: np.ndarray, y: np.ndarray, train_size: int | None, seed: int, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded stratified train_size-row subset of a training set (all of it when None)."""
    if train_size is None or train_size == len(y):
        return x, y
    if train_size > len(y):
        raise ConfigError("train_size", f"{train_size:,} asked for, but the {what} has only {len(y):,}")
    x_sub, _, y_sub, _ = _split(x, y, len(y) - train_size, seed)
    return x_sub, y_sub


def _three_way(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """70/15/15 split, stratified and seeded: x_train, y_train, x_val, y_val, x_test, y_test."""
    n_part = round(SPLIT_FRACTION * len(y))
    x_rest, x_test, y_rest, y_test = _split(x, y, n_part, seed)
    x_train, x_val, y_train, y_val = _split(x_rest, y_rest, n_part, seed)
    return x_train, y_train, x_val, y_val, x_test, y_test


def _load_synthetic(config: DataConfig) -> Dataset:
    """Binary make_classification data; cluster count chosen so every valid config works."""
    from sklearn.datasets import make_classification

    n_informative = config.n_informative
    x, y = make_classification(
        n_samples=config.n_samples,
        n_features=config.n_features,
        n_informative=n_informative,
        n_redundant=min(2, config.n_features - n_informative),
        n_clusters_per_class=2 if n_informative >= 2 else 1,
        class_sep=config.class_sep,
        flip_y=config.flip_y,
        random_state=config.seed,
    )
    x_train, y_train, x_val, y_val, x_test, y_test = _three_way(x, y.astype(np.int64), config.seed)
    scaler = fit_standardizer(x_train)
    scaled = [scaler.transform(part).astype(np.float32) for part in (x_train, x_val, x_test)]
    source = (
        f"Generated by scikit-learn make_classification: {config.n_samples:,} samples, "
        f"{config.n_features} features ({n_informative} informative), seed {config.seed}; "
        "split 70/15/15."
    )
    return Dataset(
        "synthetic", scaled[0], y_train, scaled[1], y_val, scaled[2], y_test,
        ("class 0", "class 1"), "binary", None, scaler, source,
    )


def _load_digits(config: DataConfig) -> Dataset:
    """scikit-learn's bundled 8x8 digits (values 0-16), rescaled by 1/16 to [0, 1]."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x_train, y_train, x_val, y_val, x_test, y_test = _three_way(x, y.astype(np.int64), config.seed)
    x_train, y_train = _subset(x_train, y_train, config.train_size, config.seed, "digits training split")
    rescaler = pixel_rescaler(1 / 16).fit(x_train)
    x_train, x_val, x_test = (rescaler.transform(part) for part in (x_train, x_val, x_test))
    source = (
        f"scikit-learn's bundled 8x8 handwritten digits ({len(y):,} images), split 70/15/15: "
        f"{len(y_train):,} training, {len(y_val):,} validation and {len(y_test):,} test images."
    )
    return Dataset(
        "digits", x_train, y_train, x_val, y_val, x_test, y_test,
        DIGIT_NAMES, "multiclass", (8, 8), rescaler, source,
    )


@dataclass(frozen=True)
class _ImageSet:
    """Where one 28x28 image dataset can come from."""

    name: str
    env_var: str
    npz_name: str
    system_dirs: tuple[str, ...]
    class_names: tuple[str, ...]


_IMAGE_SETS = {
    "mnist": _ImageSet("mnist", "MNIST_DIR", "mnist.npz", (), DIGIT_NAMES),
    "fashion_mnist": _ImageSet(
        "fashion_mnist", "FASHION_MNIST_DIR", "fashion_mnist.npz", (SYSTEM_FASHION_DIR,),
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
}
# x_train, y_train, x_test, y_test and where they came from
_Raw = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _unavailable(spec: _ImageSet, reason: str) -> DataUnavailableError:
    label = DATASET_LABELS[spec.name]
    return DataUnavailableError(
        f"{label} could not be loaded ({reason}). Provide the data in one of three ways: "
        f"pass --data-dir (data_dir in the config) naming a folder with the four IDX files "
        f"(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        f"t10k-labels-idx1-ubyte, each optionally .gz) or {spec.npz_name}; set the {spec.env_var} "
        f"environment variable to such a folder; or allow internet access so keras can download it.",
        reason=reason,
    )


def _read_npz(path: Path) -> _Raw:
    """keras' npz layout: arrays x_train, y_train, x_test, y_test."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in _NPZ_KEYS if key in npz.files}
    except Exception as exc:  # zip, npy, pickle and OS errors alike mean "not a usable npz"
        reason = f"{type(exc).__name__}: {exc}"
        raise DataFormatError(f"{path}: not a readable .npz archive ({reason})") from None
    missing = [key for key in _NPZ_KEYS if key not in arrays]
    if missing:
        raise DataFormatError(f"{path}: missing arrays {', '.join(missing)} (expected {', '.join(_NPZ_KEYS)})")
    return (*(arrays[key] for key in _NPZ_KEYS), f"read from {path}")


def _read_folder(spec: _ImageSet, folder: Path) -> _Raw | None:
    """IDX set or npz from a folder (or an .npz file path); None if neither is there."""
    if folder.is_file() and folder.suffix == ".npz":
        return _read_npz(folder)
    files = find_idx_set(folder)
    if files:
        x_train, y_train = read_idx_pair(files["train_images"], files["train_labels"])
        x_test, y_test = read_idx_pair(files["test_images"], files["test_labels"])
        return x_train, y_train, x_test, y_test, f"read from the IDX files in {folder}"
    if (folder / spec.npz_name).is_file():
        return _read_npz(folder / spec.npz_name)
    return None


def _download(spec: _ImageSet) -> _Raw:
    """keras' own loader (downloads once, then caches in ~/.keras/datasets)."""
    try:
        import_tensorflow_quietly()
        loader = importlib.import_module(f"keras.datasets.{spec.name}")
    except ImportError:
        raise _unavailable(spec, "there are no local files and keras is not installed") from None
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as exc:  # download/cache failures come in many types; all mean "not here"
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise _unavailable(spec, f"there are no local files and the download failed: {reason}") from None
    return x_train, y_train, x_test, y_test, "downloaded by keras (cached in ~/.keras/datasets)"


def _find_raw(spec: _ImageSet, data_dir: str | None) -> _Raw:
    """Sources in order: data_dir, the environment variable, system folders, keras' download."""
    chosen = data_dir or os.environ.get(spec.env_var)
    if chosen:
        folder = Path(chosen).expanduser()
        origin = "data_dir" if data_dir else spec.env_var
        if not folder.exists():
            raise _unavailable(spec, f"{origin} {folder} does not exist")
        raw = _read_folder(spec, folder)
        if raw is None:
            raise _unavailable(
                spec, f"{origin} {folder} holds neither the four IDX files nor {spec.npz_name}"
            )
        return raw
    for system_dir in spec.system_dirs:
        raw = _read_folder(spec, Path(system_dir))
        if raw is not None:
            return raw
    return _download(spec)


def _check_images(x: np.ndarray, y: np.ndarray, part: str, origin: str) -> None:
    """28x28 uint8 images with one 0-9 label each, else a one-line DataFormatError."""
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise DataFormatError(f"{part} images {origin} have shape {x.shape}, expected (n, 28, 28)")
    if x.dtype != np.uint8:
        raise DataFormatError(f"{part} images {origin} are {x.dtype}, expected uint8 pixels 0-255")
    if y.ndim != 1 or len(y) != len(x):
        raise DataFormatError(f"{part} labels {origin} have shape {y.shape} for {len(x):,} images")
    if not np.issubdtype(y.dtype, np.integer) or len(y) == 0 or y.min() < 0 or y.max() > 9:
        raise DataFormatError(f"{part} labels {origin} must be whole numbers 0-9 (and not none)")


def _load_images(config: DataConfig) -> Dataset:
    """Official train/test split; train_size subset, then a validation_fraction split of it."""
    spec = _IMAGE_SETS[config.dataset]
    x_train, y_train, x_test, y_test, origin = _find_raw(spec, config.data_dir)
    _check_images(x_train, y_train, "training", origin)
    _check_images(x_test, y_test, "test", origin)
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    seed = config.seed
    x_train, y_train = _subset(x_train, y_train, config.train_size, seed, f"training set {origin}")
    if len(y_train) < 2:
        raise DataFormatError(f"training images {origin}: {len(y_train)} is too few to split off validation")
    n_val = min(len(y_train) - 1, max(1, round(config.validation_fraction * len(y_train))))
    x_train, x_val, y_train, y_val = _split(x_train, y_train, n_val, seed)
    rescaler = pixel_rescaler().fit(x_train.reshape(len(x_train), -1))
    x_train, x_val, x_test = (
        rescaler.transform(part.reshape(len(part), -1)) for part in (x_train, x_val, x_test)
    )
    source = (
        f"{DATASET_LABELS[spec.name]} {origin}: {len(y_train):,} training, {len(y_val):,} validation "
        f"and {len(y_test):,} test images."
    )
    return Dataset(
        spec.name, x_train, y_train, x_val, y_val, x_test, y_test,
        spec.class_names, "multiclass", (28, 28), rescaler, source,
    )


_LOADERS = {
    "synthetic": _load_synthetic,
    "digits": _load_digits,
    "mnist": _load_images,
    "fashion_mnist": _load_images,
}


def load_dataset(config: DataConfig) -> Dataset:
    """The dataset config names, split and preprocessed (fitted on training rows only)."""
    return _LOADERS[config.dataset](config)
