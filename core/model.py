"""The Keras MLP every run trains."""
from __future__ import annotations

from core.config import ModelConfig, TrainingConfig

# These layers are tiny: per-step Python/dispatch overhead dominates, so run many steps per
# call (benchmarks/run.py measures the gain). Epoch-level hooks are unaffected.
STEPS_PER_EXECUTION = 32


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
        steps_per_execution=STEPS_PER_EXECUTION,
        jit_compile=False,
    )
    model.optimizer.build(model.trainable_variables)  # eagerly: inside the first traced step it costs more
    return model


def _make_optimizer(training_config: TrainingConfig):
    import keras

    classes = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}
    return classes[training_config.optimizer](learning_rate=training_config.learning_rate)


def training_step_flops(model_config: ModelConfig, input_dim: int, num_classes: int, batch_size: int) -> float:
    """Multiply-adds of one forward and backward pass, roughly: 3 x 2 x batch x weights."""
    sizes = [input_dim, *model_config.hidden_units, 1 if num_classes == 2 else num_classes]
    weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return 6.0 * batch_size * weights
