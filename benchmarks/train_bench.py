"""One training measurement in a fresh process (so TensorFlow's thread settings are clean).

    python -m benchmarks.train_bench --impl {reference,core,core-live} --setup {synthetic,mnist,fashion60k} --seed N

Prints one JSON object: per-epoch seconds (from one epoch's end to the next, so whatever runs
between epochs, such as the live-progress hook, counts), whole-fit seconds (building the model and fitting it,
after TensorFlow is imported; core-live: the whole run), test accuracy, peak RSS.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import DataConfig, ModelConfig, RunConfig, TrainingConfig  # noqa: E402

# The README's reference experiments, with early stopping off so both programs do the same work.
SETUPS = {
    "synthetic": (DataConfig(dataset="synthetic"), (64, 32), 0.5, 12, 50),
    "mnist": (DataConfig(dataset="mnist"), (128, 64), 0.0, 32, 10),
    "fashion60k": (DataConfig(dataset="fashion_mnist", validation_fraction=0.05), (128, 64), 0.0, 32, 2),
}


def setup_config(setup: str, seed: int) -> RunConfig:
    data, hidden, dropout, batch, epochs = SETUPS[setup]
    data = DataConfig(**{**data.__dict__, "seed": seed, "data_dir": os.environ.get("BENCH_MNIST_DIR") if setup == "mnist" else None})
    return RunConfig(data, ModelConfig(hidden_units=hidden, dropout=dropout),
                     TrainingConfig(batch_size=batch, epochs=epochs, early_stopping=False, seed=seed))


def reference(config: RunConfig, dataset) -> tuple[list[float], float]:
    """The plain tutorial program: Sequential MLP, model.fit on NumPy arrays, no tuning."""
    import keras

    started = time.perf_counter()
    keras.utils.set_random_seed(config.training.seed)
    binary = dataset.num_classes == 2
    model = keras.Sequential([keras.Input((dataset.input_dim,))])
    for units in config.model.hidden_units:
        model.add(keras.layers.Dense(units, activation="relu"))
        if config.model.dropout:
            model.add(keras.layers.Dropout(config.model.dropout))
    model.add(keras.layers.Dense(1 if binary else dataset.num_classes, activation="sigmoid" if binary else "softmax"))
    model.compile(optimizer=keras.optimizers.Adam(config.training.learning_rate),
                  loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy", metrics=["accuracy"])
    ends: list[float] = []

    class EpochEnds(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            ends.append(time.perf_counter())

    model.fit(dataset.x_train, dataset.y_train, batch_size=config.training.batch_size, epochs=config.training.epochs,
              validation_data=(dataset.x_val, dataset.y_val), verbose=0, callbacks=[EpochEnds()])
    fit_seconds = time.perf_counter() - started
    return intervals(started, ends), fit_seconds, model.evaluate(dataset.x_test, dataset.y_test, verbose=0)[1]


def intervals(started: float, ends: list[float]) -> list[float]:
    """Seconds per epoch, each from the previous epoch's end (the first from the start)."""
    return [b - a for a, b in zip([started, *ends], ends)]


def core_plain(config: RunConfig, dataset) -> tuple[list[float], float]:
    """Trainscope's training with no progress hook and no run folder."""
    from core.evaluate import evaluate_model
    from core.model import build_model, training_step_flops
    from core.runtime import configure_tensorflow
    from core.train import seed_everything, train_model

    ends: list[float] = []
    started = time.perf_counter()
    configure_tensorflow(training_step_flops(config.model, dataset.input_dim, dataset.num_classes, config.training.batch_size))
    seed_everything(config.training.seed)
    model = build_model(config.model, config.training, dataset.input_dim, dataset.num_classes)
    train_model(model, dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val, config.training,
                on_epoch=lambda row: ends.append(time.perf_counter()))  # a clock only: no hook work
    fit_seconds = time.perf_counter() - started
    accuracy = evaluate_model(model, dataset.x_test, dataset.y_test, dataset.class_names).test_accuracy
    return intervals(started, ends), fit_seconds, accuracy


def core_live(config: RunConfig, dataset) -> tuple[list[float], float]:
    """What the dashboard runs: run_experiment with the store appending every epoch."""
    from core.experiment import run_experiment
    from core.store import RunStore

    clock = Stopwatch()

    class ClockedStore(RunStore):
        """Also times the per-epoch store work itself: a reading that machine noise cannot blur."""

        def append_epoch(self, run_id, row):
            with clock:
                super().append_epoch(run_id, row)

        def stop_requested(self, run_id):
            with clock:
                return super().stop_requested(run_id)

    ends: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        summary = run_experiment(config, ClockedStore(folder), on_epoch=lambda row: ends.append(time.perf_counter()))
        run_seconds = time.perf_counter() - started  # also loads the data again, evaluates and saves
    EXTRA["store_seconds_per_epoch"] = clock.total / max(len(ends), 1)
    return intervals(started, ends), run_seconds, summary["test_accuracy"]


class Stopwatch:
    """Adds up the time spent inside `with` blocks."""

    def __init__(self):
        self.total = 0.0

    def __enter__(self):
        self.begun = time.perf_counter()

    def __exit__(self, *exc):
        self.total += time.perf_counter() - self.begun


EXTRA: dict[str, float] = {}  # readings only one implementation takes, printed with the rest


IMPLS = {"reference": reference, "core": core_plain, "core-live": core_live}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", choices=IMPLS, required=True)
    parser.add_argument("--setup", choices=SETUPS, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from core.data import load_dataset
    from core.runtime import import_tensorflow_quietly

    config = setup_config(args.setup, args.seed)
    started = time.perf_counter()
    dataset = load_dataset(config.data)
    load_seconds = time.perf_counter() - started
    import_tensorflow_quietly()  # not part of any fit: the same one-time cost for every program
    epoch_seconds, fit_seconds, accuracy = IMPLS[args.impl](config, dataset)
    print(json.dumps({
        "impl": args.impl, "setup": args.setup, "seed": args.seed, "epoch_seconds": epoch_seconds,
        "fit_seconds": fit_seconds, "test_accuracy": float(accuracy),
        "load_seconds": load_seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "n_train": int(len(dataset.y_train)), "input_dim": dataset.input_dim, **EXTRA,
    }))


if __name__ == "__main__":
    main()
