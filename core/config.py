"""Run settings: one frozen dataclass per concern, validated on creation, JSON round-trip.

BOUNDS and CHOICES are the single source of the limits the CLI and the sliders offer.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.errors import ConfigError

DATASETS = ("synthetic", "mnist", "fashion_mnist", "digits")
IMAGE_DATASETS = ("mnist", "fashion_mnist")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")
OPTIMIZERS = ("adam", "sgd", "rmsprop")

BOUNDS: dict[str, tuple[float, float]] = {
    "n_samples": (100, 20_000),
    "n_features": (2, 100),
    "n_informative": (1, 100),
    "class_sep": (0.1, 5.0),
    "flip_y": (0.0, 0.5),
    "seed": (0, 2**31 - 1),
    "validation_fraction": (0.05, 0.5),
    "train_size": (100, 60_000),
    "hidden_layers": (1, 5),
    "hidden_units": (1, 1024),
    "dropout": (0.0, 0.9),
    "learning_rate": (1e-5, 10.0),
    "batch_size": (1, 4096),
    "epochs": (1, 500),
    "patience": (0, 100),
}


def _check_int(name: str, value: Any) -> None:
    lo, hi = BOUNDS[name.split(".")[-1].split("[")[0]]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be a whole number from {lo:g} to {hi:g}, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(name, f"must be from {lo:g} to {hi:g}, got {value}")


def _check_float(name: str, value: Any) -> None:
    lo, hi = BOUNDS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ConfigError(name, f"must be a number in [{lo:g}, {hi:g}], got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(name, f"must be in [{lo:g}, {hi:g}], got {value:g}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(name, f"must be one of {', '.join(choices)}, got {value!r}")


@dataclass(frozen=True)
class DataConfig:
    """Which dataset and how to make or split it."""

    dataset: str = "synthetic"
    n_samples: int = 1000
    n_features: int = 20
    n_informative: int = 2
    class_sep: float = 1.0
    flip_y: float = 0.01
    seed: int = 42
    validation_fraction: float = 0.2
    train_size: int | None = None
    data_dir: str | None = None

    def __post_init__(self) -> None:
        _check_choice("dataset", self.dataset, DATASETS)
        for name in ("n_samples", "n_features", "n_informative", "seed"):
            _check_int(name, getattr(self, name))
        for name in ("class_sep", "flip_y", "validation_fraction"):
            _check_float(name, getattr(self, name))
        if self.n_informative > self.n_features:
            raise ConfigError(
                "n_informative",
                f"informative features ({self.n_informative}) cannot exceed "
                f"features (n_features={self.n_features})",
            )
        if self.train_size is not None:
            _check_int("train_size", self.train_size)
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ConfigError("data_dir", f"must be a folder path, got {self.data_dir!r}")

    @property
    def is_image(self) -> bool:
        return self.dataset in IMAGE_DATASETS

    @property
    def used_fields(self) -> tuple[str, ...]:
        """The settings that shape this dataset; the others keep their defaults, unused."""
        if self.dataset == "synthetic":
            return ("dataset", "n_samples", "n_features", "n_informative", "class_sep", "flip_y", "seed")
        if self.dataset == "digits":
            return ("dataset", "train_size", "seed")
        return ("dataset", "train_size", "validation_fraction", "data_dir", "seed")

    @property
    def input_dim(self) -> int:
        """Features per sample the model will see, known before loading the data."""
        return {"synthetic": self.n_features, "digits": 64}.get(self.dataset, 28 * 28)

    @property
    def num_classes(self) -> int:
        return 2 if self.dataset == "synthetic" else 10


@dataclass(frozen=True)
class ModelConfig:
    """The MLP's shape."""

    hidden_units: tuple[int, ...] = (64, 32)
    activation: str = "relu"
    dropout: float = 0.5

    def __post_init__(self) -> None:
        units = self.hidden_units
        if isinstance(units, list):
            object.__setattr__(self, "hidden_units", tuple(units))
            units = self.hidden_units
        lo, hi = BOUNDS["hidden_layers"]
        if not isinstance(units, tuple) or not lo <= len(units) <= hi:
            raise ConfigError("hidden_units", f"must list {lo:g} to {hi:g} hidden layers, got {units!r}")
        for i, value in enumerate(units):
            _check_int(f"hidden_units[{i}]", value)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_float("dropout", self.dropout)


@dataclass(frozen=True)
class TrainingConfig:
    """How the weights are fitted."""

    optimizer: str = "adam"
    learning_rate: float = 0.001
    batch_size: int = 12
    epochs: int = 50
    early_stopping: bool = True
    patience: int = 5
    seed: int = 42

    def __post_init__(self) -> None:
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_float("learning_rate", self.learning_rate)
        for name in ("batch_size", "epochs", "patience", "seed"):
            _check_int(name, getattr(self, name))
        if not isinstance(self.early_stopping, bool):
            raise ConfigError("early_stopping", f"must be true or false, got {self.early_stopping!r}")


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "training": TrainingConfig}


@dataclass(frozen=True)
class RunConfig:
    """Everything one run needs; what is written to config.json."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def to_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["model"]["hidden_units"] = list(self.model.hidden_units)
        return result

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, raw: Any) -> "RunConfig":
        if not isinstance(raw, dict):
            raise ConfigError("config", "must be a JSON object with data, model and training")
        unknown = set(raw) - set(_SECTIONS)
        if unknown:
            raise ConfigError(sorted(unknown)[0], f"unknown section; allowed: {', '.join(_SECTIONS)}")
        sections = {}
        for name, section_cls in _SECTIONS.items():
            values = raw.get(name, {})
            if not isinstance(values, dict):
                raise ConfigError(name, "must be a JSON object")
            allowed = {f.name for f in fields(section_cls)}
            extra = set(values) - allowed
            if extra:
                key = sorted(extra)[0]
                raise ConfigError(f"{name}.{key}", f"unknown setting; allowed: {', '.join(sorted(allowed))}")
            sections[name] = section_cls(**values)
        return cls(**sections)

    @classmethod
    def from_json(cls, text: str) -> "RunConfig":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError("config", f"is not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_dict(raw)


def check_against_data(config: RunConfig, n_train: int) -> None:
    """Checks that need the loaded data: a batch cannot exceed the training set."""
    if config.training.batch_size > n_train:
        raise ConfigError(
            "batch_size",
            f"{config.training.batch_size} is larger than the training set "
            f"({n_train} samples); choose at most {n_train}",
        )
