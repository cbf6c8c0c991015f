"""The fitted preprocessing that turns raw features into model input, and its JSON twin.

The transformers are plain scikit-learn objects built from numpy callables, so a pickled
copy (preprocessing.joblib) loads with scikit-learn alone, without this package. The JSON
spec lets a bundle's standalone predict.py apply the same step without unpickling at all.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

PIXEL_FACTOR = 1 / 255


def fit_standardizer(x_train: np.ndarray):
    """A StandardScaler fitted on the training rows only, so no statistic leaks from val/test."""
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit(np.asarray(x_train, dtype=np.float64))


def pixel_rescaler(factor: float = PIXEL_FACTOR):
    """Multiply raw pixels by factor (default 1/255, giving [0, 1]) and return float32.

    A partial of np.multiply (not a lambda or a function of ours) keeps it picklable and
    loadable without this package.
    """
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer(functools.partial(np.multiply, np.float32(factor), dtype=np.float32))


def rescale_factor(transformer) -> float:
    """The factor of a pixel_rescaler; ValueError for any other FunctionTransformer."""
    func = transformer.func
    if not (isinstance(func, functools.partial) and func.func is np.multiply and len(func.args) == 1):
        raise ValueError(f"not a pixel rescaler: {func!r}")
    return float(func.args[0])


def preprocessing_spec(transformer: Any, n_features: int) -> dict[str, Any]:
    """JSON-safe description of a transformer made by this module, for bundles."""
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    if isinstance(transformer, StandardScaler):
        mean, scale = transformer.mean_, transformer.scale_
        if len(mean) != n_features:
            raise ValueError(f"scaler was fitted on {len(mean)} features, not {n_features}")
        return {
            "kind": "standardize",
            "mean": mean.tolist(),
            "scale": scale.tolist(),
            "n_features": n_features,
        }
    if isinstance(transformer, FunctionTransformer):
        return {"kind": "rescale", "factor": rescale_factor(transformer), "n_features": n_features}
    raise ValueError(f"no JSON form for preprocessing of type {type(transformer).__name__}")


def project_2d(x: np.ndarray) -> np.ndarray:
    """The rows on the data's two main directions (PCA by SVD), for a picture of the data.

    Signs are fixed (largest loading positive), so the same data always gives the same picture.
    """
    centered = np.asarray(x, dtype=np.float64) - np.mean(x, axis=0)
    components = np.linalg.svd(centered, full_matrices=False)[2][:2]
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    return centered @ (components * signs[:, None]).T
