"""The Keras MLP every run trains."""
from __future__ import annotations

from core.config import ModelConfig, TrainingConfig


def build_model(model_config: ModelConfig, training_config: TrainingConfig, input_dim: int, num_classes: int):
    """Dense layers with dropout; one sigmoid unit for two classes, softmax for more."""
    import keras

    layers = [keras.Input(shape=(input_dim,), name="features")]
    for index, units in enumerate(model_config.hidden_units, start=1):
        layers.append(keras.layers.Dense(units, activation=model_config.activation, name=f"hidden_{index}"))
        if model_config.dropout > 0:
            layers.append(keras.layers.Dropout(model_config.dropout, name=f"dropout_{index}"))
    binary = num_classes == 2
    layers.append(keras.layers.Dense(1 if binary else num_classes, activation="sigmoid" if binary else "softmax", name="output"))
    model = keras.Sequential(layers, name="trainscope_mlp")
    model.compile(
        optimizer=_make_optimizer(training_config),
        loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _make_optimizer(training_config: TrainingConfig):
    import keras

    classes = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}
    return classes[training_config.optimizer](learning_rate=training_config.learning_rate)
