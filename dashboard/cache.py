"""The only st.cache_* wrappers: datasets and previews, shared read-only between sessions.

No Keras model is ever cached here; models live in run folders and in worker processes.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from core.config import DataConfig
from core.data import Dataset, load_dataset
from core.errors import TrainscopeError
from core.preprocess import project_2d
from core.store import RunStore
from core.worker import WorkerPool

PREVIEW_POINTS = 600
PREVIEW_IMAGES = 20


def get_store() -> RunStore:
    """The runs directory ($TRAINSCOPE_RUNS_DIR or ./runs); cheap, so not cached."""
    return RunStore()


@st.cache_resource(show_spinner=False)
def get_worker_pool(runs_dir: str) -> WorkerPool:
    """One pool per server and runs directory: process handles only, never a model."""
    return WorkerPool(RunStore(runs_dir))


FAILURE_SECONDS = 120


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset...")
def _loaded_dataset(config: DataConfig) -> Dataset:
    """Loaded once per data setting; arrays are read-only so sharing is safe."""
    return load_dataset(config)


@st.cache_resource(ttl=FAILURE_SECONDS, show_spinner="Loading the dataset...")
def _load_failure(config: DataConfig) -> TrainscopeError | None:
    """Why the data cannot be had, remembered for a while so reruns do not retry a download."""
    try:
        _loaded_dataset(config)
    except TrainscopeError as exc:
        return exc
    return None


def get_dataset(config: DataConfig) -> Dataset:
    failure = _load_failure(config)
    if failure:
        raise failure
    return _loaded_dataset(config)


@st.cache_data(max_entries=16, show_spinner=False)
def get_projection(config: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D PCA of (a sample of) the training data, for the tabular preview."""
    dataset = get_dataset(config)
    return project_2d(dataset.x_train[:PREVIEW_POINTS]), dataset.y_train[:PREVIEW_POINTS]


@st.cache_data(max_entries=16, show_spinner=False)
def get_sample_images(config: DataConfig) -> tuple[np.ndarray, list[str]]:
    """Two training images per class, for the image preview."""
    dataset = get_dataset(config)
    picks = [i for label in range(dataset.num_classes) for i in np.flatnonzero(dataset.y_train == label)[:2]]
    picks = sorted(picks)[:PREVIEW_IMAGES]
    images = dataset.x_train[picks].reshape(-1, *dataset.image_shape)
    return images, [dataset.class_names[dataset.y_train[i]] for i in picks]
