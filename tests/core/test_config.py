import json

import pytest

from core.config import BOUNDS, DataConfig, ModelConfig, RunConfig, TrainingConfig, check_against_data
from core.errors import ConfigError


def test_json_round_trip_keeps_every_setting():
    config = RunConfig(
        DataConfig(dataset="digits", train_size=500, seed=7),
        ModelConfig(hidden_units=(128, 64, 8), activation="gelu", dropout=0.25),
        TrainingConfig(optimizer="sgd", learning_rate=0.05, batch_size=64, epochs=3, early_stopping=False, patience=0, seed=9),
    )
    assert RunConfig.from_json(config.to_json()) == config
    assert json.loads(config.to_json())["model"]["hidden_units"] == [128, 64, 8]


@pytest.mark.parametrize(
    "make, field, words",
    [
        (lambda: ModelConfig(dropout=1.0), "dropout", "[0, 0.9]"),
        (lambda: ModelConfig(dropout=-0.1), "dropout", "[0, 0.9]"),
        (lambda: ModelConfig(hidden_units=()), "hidden_units", "1 to 5 hidden layers"),
        (lambda: ModelConfig(hidden_units=(8,) * 6), "hidden_units", "1 to 5 hidden layers"),
        (lambda: ModelConfig(hidden_units=(64, 2000)), "hidden_units[1]", "1 to 1024"),
        (lambda: ModelConfig(hidden_units=(64, 0)), "hidden_units[1]", "1 to 1024"),
        (lambda: ModelConfig(activation="softmax"), "activation", "relu, tanh, sigmoid, gelu"),
        (lambda: DataConfig(n_features=5, n_informative=6), "n_informative", "cannot exceed"),
        (lambda: DataConfig(n_samples=50), "n_samples", "100 to 20000"),
        (lambda: DataConfig(dataset="cifar"), "dataset", "synthetic, mnist"),
        (lambda: DataConfig(flip_y=float("nan")), "flip_y", "number"),
        (lambda: TrainingConfig(batch_size=0), "batch_size", "1 to 4096"),
        (lambda: TrainingConfig(epochs=2.5), "epochs", "whole number"),
        (lambda: TrainingConfig(epochs=True), "epochs", "whole number"),
        (lambda: TrainingConfig(optimizer="adagrad"), "optimizer", "adam, sgd, rmsprop"),
        (lambda: TrainingConfig(early_stopping="yes"), "early_stopping", "true or false"),
    ],
)
def test_bad_values_name_the_field_and_the_allowed_range(make, field, words):
    with pytest.raises(ConfigError) as error:
        make()
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}:")
    assert words in str(error.value)


def test_unknown_keys_and_bad_json_are_named():
    with pytest.raises(ConfigError, match="model.units: unknown setting"):
        RunConfig.from_dict({"model": {"units": [3]}})
    with pytest.raises(ConfigError, match="optimiser: unknown section"):
        RunConfig.from_dict({"optimiser": {}})
    with pytest.raises(ConfigError, match="not valid JSON"):
        RunConfig.from_json("{nope")


def test_batch_larger_than_training_set_is_refused():
    check_against_data(RunConfig(training=TrainingConfig(batch_size=70)), n_train=70)
    with pytest.raises(ConfigError, match="batch_size: 71 is larger than the training set"):
        check_against_data(RunConfig(training=TrainingConfig(batch_size=71)), n_train=70)


def test_every_bound_is_a_valid_setting_at_both_ends():
    for name in ("n_samples", "n_features", "seed"):
        for value in BOUNDS[name]:
            DataConfig(**{name: int(value), "n_informative": 1})
    for value in BOUNDS["dropout"]:
        ModelConfig(dropout=value)
