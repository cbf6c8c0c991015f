"""Fitting a model: seeding, early stopping with restore, per-epoch progress and stop requests."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from core.config import TrainingConfig
from core.errors import TrainscopeError

EpochHook = Callable[[dict], None]
StopCheck = Callable[[], bool]


class TrainingDivergedError(TrainscopeError):
    """The loss became NaN or infinite; the weights are useless."""


@dataclass
class TrainingResult:
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    epochs_run: int = 0
    stopped_early: bool = False
    stop_requested: bool = False
    kept_epoch: int = 0


def seed_everything(seed: int) -> None:
    """One call so the same config and seed give the same weights, shuffles and dropout masks."""
    import keras

    keras.utils.set_random_seed(seed)


def _monitor_callback_class():
    import keras

    class EpochMonitor(keras.callbacks.Callback):
        """Early stopping, best-weight tracking, progress and stop checks in one place.

        Kept in one callback so a stop request and early stopping restore the same best
        weights, and the hook sees exactly the row that is recorded.
        """

        def __init__(self, config: TrainingConfig, on_epoch: EpochHook | None, should_stop: StopCheck | None):
            super().__init__()
            self.config, self.on_epoch, self.should_stop = config, on_epoch, should_stop
            self.result = TrainingResult()
            self.best_loss, self.best_weights, self.wait = math.inf, None, 0
            self.diverged: str | None = None

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
            row["seconds"] = time.perf_counter() - self.started
            self.result.history.append(row)
            self.result.epochs_run = epoch + 1
            if self.on_epoch:
                self.on_epoch(row)
            if not all(math.isfinite(row.get(k, 0.0)) for k in ("loss", "val_loss")):
                self.diverged = f"the loss became {row.get('loss')} at epoch {epoch + 1}"
                self.model.stop_training = True
                return
            self._track_best(row, epoch)
            if self.should_stop and self.should_stop():
                self.result.stop_requested = True
                self.model.stop_training = True

        def _track_best(self, row, epoch):
            val_loss = row.get("val_loss", row["loss"])
            if val_loss < self.best_loss:
                self.best_loss, self.wait = val_loss, 0
                self.result.best_epoch = epoch + 1
                self.best_weights = self.model.get_weights()
                return
            self.wait += 1
            if self.config.early_stopping and self.wait > self.config.patience:
                self.result.stopped_early = True
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            keep_best = self.config.early_stopping or self.result.stop_requested
            if keep_best and self.best_weights is not None:
                self.model.set_weights(self.best_weights)
                self.result.kept_epoch = self.result.best_epoch
            else:
                self.result.kept_epoch = self.result.epochs_run

    return EpochMonitor


VALIDATION_BATCH = 1024  # evaluation only: bigger batches, same numbers, fewer steps


def _batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle_seed: int | None = None):
    """A prefetched tf.data pipeline: the next batch is ready while the current one trains.

    Reshuffled every epoch from a fixed seed, so a run stays repeatable.
    """
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        data = data.shuffle(len(y), seed=shuffle_seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def train_model(
    model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    config: TrainingConfig,
    on_epoch: EpochHook | None = None,
    should_stop: StopCheck | None = None,
) -> TrainingResult:
    """Fit with validation data; returns what happened, with the kept weights in `model`.

    With early stopping the best epoch's weights (lowest validation loss) are kept, and
    so they are after a stop request; without it the last epoch's weights are kept.
    """
    monitor = _monitor_callback_class()(config, on_epoch, should_stop)
    model.fit(
        _batches(x_train, y_train, config.batch_size, shuffle_seed=config.seed),
        shuffle=False,  # the pipeline shuffles, seeded
        epochs=config.epochs,
        validation_data=_batches(x_val, y_val, VALIDATION_BATCH),
        verbose=0,
        callbacks=[monitor],
    )
    if monitor.diverged:
        raise TrainingDivergedError(
            f"training went numerically wrong: {monitor.diverged}, so the model is useless. "
            f"The learning rate ({config.learning_rate:g}) is probably too large: try a smaller learning rate"
        )
    return monitor.result
