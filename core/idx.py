"""IDX files (the MNIST format), parsed by hand so reading needs nothing beyond numpy.

Layout: magic 00 00 <type code> <ndim>, then ndim big-endian uint32 sizes, then the
data. Only unsigned bytes (type 0x08) are supported: every MNIST-style set uses them.
Files may be gzipped; gzip is recognised by its magic bytes, not by the file name.
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from core.errors import ConfigError, DataFormatError, DataUnavailableError

GZIP_MAGIC = b"\x1f\x8b"
UINT8_CODE = 0x08
IDX_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataUnavailableError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{path}: damaged gzip data ({exc})") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or gzipped) as a read-only uint8 array of its stated shape."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise DataFormatError(
            f"{path}: not an IDX file (starts with {raw[:4].hex(' ') or 'nothing'}, expected 00 00 08 <ndim>)"
        )
    code, ndim = raw[2], raw[3]
    if code != UINT8_CODE:
        raise DataFormatError(
            f"{path}: IDX type code 0x{code:02x} is not supported, expected 0x08 (unsigned bytes)"
        )
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataFormatError(
            f"{path}: IDX header promises {ndim} dimensions but the file is {len(raw)} bytes long"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected, found = math.prod(dims), len(raw) - header
    if found != expected:
        problem = "truncated" if found < expected else "has extra bytes"
        raise DataFormatError(
            f"{path}: {problem}: shape {'x'.join(map(str, dims))} needs {expected:,} data bytes, "
            f"found {found:,}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write a uint8 array as IDX (gzipped when the name ends in .gz), atomically."""
    path = Path(path)
    array = np.asarray(array)
    if array.dtype != np.uint8 or not 1 <= array.ndim <= 255:
        raise ValueError(
            f"write_idx needs a uint8 array with 1 to 255 dimensions, got {array.dtype} {array.shape}"
        )
    payload = bytes([0, 0, UINT8_CODE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload += np.ascontiguousarray(array).tobytes()
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        partial.write_bytes(payload)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _find_file(folder: Path, stem: str) -> Path | None:
    """One standard file, with or without .gz, also in the 'train-images.idx3-ubyte' spelling."""
    for base in (stem, stem.replace("-idx", ".idx")):
        for name in (base, base + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def find_idx_set(folder: str | os.PathLike) -> dict[str, Path] | None:
    """The four standard MNIST-style files in folder (keys as IDX_STEMS), or None if any is missing."""
    folder = Path(folder)
    found = {key: _find_file(folder, stem) for key, stem in IDX_STEMS.items()}
    return found if all(found.values()) else None


def read_idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, h, w) and labels (n,) from two IDX files, checked to belong together."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise DataFormatError(
            f"{images_path}: expected images of shape (n, height, width), found {images.shape}"
        )
    if labels.ndim != 1:
        raise DataFormatError(
            f"{labels_path}: expected one label per image (1 dimension), found {labels.shape}"
        )
    if len(labels) != len(images):
        raise DataFormatError(
            f"{labels_path}: {len(labels):,} labels for {len(images):,} images in {images_path.name}"
        )
    return images, labels


def _source_pair(folder: Path, part: str) -> tuple[np.ndarray, np.ndarray] | None:
    images = _find_file(folder, IDX_STEMS[f"{part}_images"])
    labels = _find_file(folder, IDX_STEMS[f"{part}_labels"])
    return read_idx_pair(images, labels) if images and labels else None


def _check_enough(field: str, wanted: int, available: int, folder: Path, what: str) -> None:
    if wanted > available:
        raise ConfigError(field, f"{wanted:,} {what} images requested but {folder} has only {available:,}")


def write_mnist_subset(
    source_dir: str | os.PathLike, out_dir: str | os.PathLike, n_train: int, n_test: int
) -> dict[str, Path]:
    """Build a small four-file IDX folder (gzipped) from slices of a bigger one.

    Why: tests and offline demos need a complete MNIST folder while only the t10k pair
    may be at hand. With a train pair in source_dir, train and test come from their own
    pairs; with only the t10k pair, its first n_train images become train, the next n_test test.
    """
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(name, f"must be a whole number of at least 1, got {value!r}")
    test = _source_pair(source_dir, "test")
    if test is None:
        raise DataUnavailableError(
            f"{source_dir}: no {IDX_STEMS['test_images']}[.gz] and {IDX_STEMS['test_labels']}[.gz] pair"
        )
    train = _source_pair(source_dir, "train")
    if train is None:
        images, labels = test
        _check_enough("n_train", n_train + n_test, len(images), source_dir, "t10k (train + test)")
        train = images[:n_train], labels[:n_train]
        test = images[n_train : n_train + n_test], labels[n_train : n_train + n_test]
    _check_enough("n_train", n_train, len(train[0]), source_dir, "training")
    _check_enough("n_test", n_test, len(test[0]), source_dir, "test")
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": train[0][:n_train],
        "train_labels": train[1][:n_train],
        "test_images": test[0][:n_test],
        "test_labels": test[1][:n_test],
    }
    return {key: write_idx(out_dir / f"{IDX_STEMS[key]}.gz", arrays[key]) for key in IDX_STEMS}
