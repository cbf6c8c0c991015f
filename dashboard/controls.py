"""The Train page's sidebar controls: their limits, defaults, and the RunConfig they describe.

Limits come from core's BOUNDS (the single source), narrowed where a slider would be too
fine to use. Every control keeps its value while another page is shown.
"""
from __future__ import annotations

import streamlit as st

from core.config import ACTIVATIONS, BOUNDS, DATASETS, OPTIMIZERS, DataConfig, ModelConfig, RunConfig, TrainingConfig
from core.data import DATASET_LABELS
from core.errors import ConfigError
from dashboard import state

DEFAULTS = RunConfig()
LEARNING_RATES = (0.00001, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BATCH_SIZES = (1, 4, 8, 12, 16, 32, 64, 128, 256, 512, 1024)
TRAIN_SIZES = (500, 1000, 2000, 5000, 10000, 20000, 30000, 60000)
DEFAULT_TRAIN_SIZE = 5000
MAX_UNITS, MAX_EPOCHS, MAX_PATIENCE, MAX_SEED = 512, 200, 50, 9999
SAMPLES_STEP, CLASS_SEP_STEP, NOISE_STEP, DROPOUT_STEP = 100, 0.1, 0.01, 0.05
KEEP = {"persist_state": "session"}  # controls keep their values while another page is shown
FIELD_LABELS = {  # config field -> the control's label, for messages
    "n_samples": "Samples", "n_features": "Features", "n_informative": "Useful features",
    "class_sep": "Class separation", "flip_y": "Label noise", "train_size": "Training images",
    "hidden_units": "Neurons", "dropout": "Dropout", "learning_rate": "Learning rate",
    "batch_size": "Batch size", "epochs": "Epochs", "patience": "Patience", "seed": "Seed",
}


def field_message(exc: ConfigError) -> str:
    """A settings error in the controls' own words, e.g. 'Batch size: ...'."""
    return f"{FIELD_LABELS.get(exc.field, exc.field)}: {exc.detail}"


def widget_defaults() -> dict:
    """Every control's starting value, from core's defaults (the single source)."""
    data, model, training = DEFAULTS.data, DEFAULTS.model, DEFAULTS.training
    units = {state.TRAIN_UNITS.format(i): model.hidden_units[i] if i < len(model.hidden_units) else 16
             for i in range(int(BOUNDS["hidden_layers"][1]))}
    return {
        state.TRAIN_DATASET: data.dataset, state.TRAIN_SAMPLES: data.n_samples, state.TRAIN_FEATURES: data.n_features,
        state.TRAIN_INFORMATIVE: data.n_informative, state.TRAIN_CLASS_SEP: data.class_sep,
        state.TRAIN_NOISE: data.flip_y, state.TRAIN_DATA_SEED: data.seed, state.TRAIN_SIZE: DEFAULT_TRAIN_SIZE,
        state.TRAIN_LAYERS: len(model.hidden_units), **units, state.TRAIN_DROPOUT: model.dropout,
        state.TRAIN_ACTIVATION: model.activation, state.TRAIN_OPTIMIZER: training.optimizer,
        state.TRAIN_LEARNING_RATE: training.learning_rate, state.TRAIN_BATCH: training.batch_size,
        state.TRAIN_EPOCHS: training.epochs, state.TRAIN_EARLY_STOP: training.early_stopping,
        state.TRAIN_PATIENCE: training.patience, state.TRAIN_SEED: training.seed,
    }


def _on_grid(value: float, step: float) -> bool:
    return abs(round(value / step) * step - value) < 1e-9


def widget_values(config: RunConfig) -> dict:
    """The control values that show a run's settings; a setting the controls cannot show is left out.

    Why: a run reopened from a link (a new session) shows its own settings in the sidebar,
    so pressing Train again trains what is on screen.
    """
    data, model, training = config.data, config.model, config.training
    candidates = {
        state.TRAIN_DATASET: (data.dataset, True), state.TRAIN_LAYERS: (len(model.hidden_units), True),
        **{state.TRAIN_UNITS.format(i): (units, units <= MAX_UNITS) for i, units in enumerate(model.hidden_units)},
        state.TRAIN_DROPOUT: (model.dropout, _on_grid(model.dropout, DROPOUT_STEP)),
        state.TRAIN_ACTIVATION: (model.activation, True), state.TRAIN_OPTIMIZER: (training.optimizer, True),
        state.TRAIN_LEARNING_RATE: (training.learning_rate, training.learning_rate in LEARNING_RATES),
        state.TRAIN_BATCH: (training.batch_size, training.batch_size in BATCH_SIZES),
        state.TRAIN_EPOCHS: (training.epochs, training.epochs <= MAX_EPOCHS),
        state.TRAIN_EARLY_STOP: (training.early_stopping, True),
        state.TRAIN_PATIENCE: (training.patience, training.patience <= MAX_PATIENCE),
        state.TRAIN_SEED: (training.seed, training.seed <= MAX_SEED),
    }
    if data.dataset == "synthetic":
        candidates.update({
            state.TRAIN_SAMPLES: (data.n_samples, data.n_samples % SAMPLES_STEP == 0),
            state.TRAIN_FEATURES: (data.n_features, True), state.TRAIN_INFORMATIVE: (data.n_informative, True),
            state.TRAIN_CLASS_SEP: (data.class_sep, _on_grid(data.class_sep, CLASS_SEP_STEP)),
            state.TRAIN_NOISE: (data.flip_y, _on_grid(data.flip_y, NOISE_STEP)),
            state.TRAIN_DATA_SEED: (data.seed, data.seed <= MAX_SEED),
        })
    elif data.is_image:
        candidates[state.TRAIN_SIZE] = (data.train_size, data.train_size in TRAIN_SIZES)
    return {key: value for key, (value, fits) in candidates.items() if fits}


def init_controls(run_config: RunConfig | None) -> None:
    """Every control at its default; on a session's first view, at the settings of the run shown."""
    if run_config is not None and state.TRAIN_DATASET not in st.session_state:
        st.session_state.update(widget_values(run_config))
    for key, value in widget_defaults().items():
        st.session_state.setdefault(key, value)


def _int_slider(label: str, key: str, bound: str, help: str, **kwargs) -> int:
    low, high = BOUNDS[bound]
    return st.slider(label, int(low), int(kwargs.pop("max_value", high)), key=key, help=help, **KEEP, **kwargs)


def render_data_controls() -> str:
    dataset = st.selectbox("Dataset", DATASETS, format_func=DATASET_LABELS.get, key=state.TRAIN_DATASET,
                           help="What the network learns to recognise.", **KEEP)
    if dataset == "synthetic":
        _int_slider("Samples", state.TRAIN_SAMPLES, "n_samples", step=SAMPLES_STEP,
                    help="How many points to generate (70% train, 15% validation, 15% test).")
        features = _int_slider("Features", state.TRAIN_FEATURES, "n_features",
                               help="How many numbers describe each point.")
        if st.session_state.get(state.TRAIN_INFORMATIVE, 0) > features:
            st.session_state[state.TRAIN_INFORMATIVE] = features
        _int_slider("Useful features", state.TRAIN_INFORMATIVE, "n_informative", max_value=features,
                    help="How many of the features actually say something about the class; the rest are noise or copies.")
        st.slider("Class separation", *BOUNDS["class_sep"], step=CLASS_SEP_STEP, key=state.TRAIN_CLASS_SEP,
                  help="How far apart the two groups are: larger is easier.", **KEEP)
        st.slider("Label noise", *BOUNDS["flip_y"], step=NOISE_STEP, key=state.TRAIN_NOISE,
                  help="Share of points given a random label on purpose: no model can get those right.", **KEEP)
        _int_slider("Data seed", state.TRAIN_DATA_SEED, "seed", max_value=MAX_SEED,
                    help="Same seed, same points. Change it to draw a new dataset.")
    elif dataset != "digits":
        st.select_slider("Training images", TRAIN_SIZES, key=state.TRAIN_SIZE,
                         help="How many of the training images to use (a fifth of them for validation). "
                              "Fewer trains faster; more is more accurate.", **KEEP)
    return dataset


def render_model_controls() -> None:
    layers = _int_slider("Hidden layers", state.TRAIN_LAYERS, "hidden_layers",
                         help="How many layers of neurons sit between the input and the answer.")
    for index in range(layers):
        _int_slider(f"Neurons in layer {index + 1}", state.TRAIN_UNITS.format(index), "hidden_units",
                    max_value=MAX_UNITS, help="More neurons can learn more complicated patterns, and overfit more easily.")
    st.slider("Dropout", *BOUNDS["dropout"], step=DROPOUT_STEP, key=state.TRAIN_DROPOUT,
              help="Share of neurons switched off at random at each training step, so the network cannot rely on "
                   "any single one. Fights overfitting.", **KEEP)
    st.selectbox("Activation", ACTIVATIONS, key=state.TRAIN_ACTIVATION,
                 help="The bend each neuron applies to its input; relu is the usual choice.", **KEEP)


def render_training_controls() -> None:
    st.selectbox("Optimizer", OPTIMIZERS, key=state.TRAIN_OPTIMIZER,
                 help="The rule that adjusts the weights after each batch; adam is a safe default.", **KEEP)
    st.select_slider("Learning rate", LEARNING_RATES, key=state.TRAIN_LEARNING_RATE,
                     help="How big each adjustment step is. Too small learns slowly; too large jumps around or blows up.", **KEEP)
    st.select_slider("Batch size", BATCH_SIZES, key=state.TRAIN_BATCH,
                     help="How many examples the network looks at before each adjustment.", **KEEP)
    _int_slider("Epochs", state.TRAIN_EPOCHS, "epochs", max_value=MAX_EPOCHS,
                help="How many times the network goes through the whole training set (at most).")
    early = st.toggle("Early stopping", key=state.TRAIN_EARLY_STOP,
                      help="Stop when the validation loss stops improving, and keep the best epoch's weights.", **KEEP)
    _int_slider("Patience", state.TRAIN_PATIENCE, "patience", max_value=MAX_PATIENCE, disabled=not early,
                help="How many epochs without improvement to wait before stopping.")
    _int_slider("Seed", state.TRAIN_SEED, "seed", max_value=MAX_SEED,
                help="Same seed and settings give the same result; change it to see how much luck matters.")


def config_from_widgets() -> RunConfig:
    """The RunConfig the widgets describe; core validates it."""
    get = st.session_state.get
    dataset = get(state.TRAIN_DATASET, "synthetic")
    data = {"dataset": dataset}
    if dataset == "synthetic":
        data.update(n_samples=get(state.TRAIN_SAMPLES), n_features=get(state.TRAIN_FEATURES),
                    n_informative=get(state.TRAIN_INFORMATIVE), class_sep=get(state.TRAIN_CLASS_SEP),
                    flip_y=get(state.TRAIN_NOISE), seed=get(state.TRAIN_DATA_SEED))
    elif dataset != "digits":
        data["train_size"] = get(state.TRAIN_SIZE)
    units = tuple(get(state.TRAIN_UNITS.format(i)) for i in range(get(state.TRAIN_LAYERS)))
    return RunConfig(
        DataConfig(**data),
        ModelConfig(hidden_units=units, activation=get(state.TRAIN_ACTIVATION), dropout=get(state.TRAIN_DROPOUT)),
        TrainingConfig(optimizer=get(state.TRAIN_OPTIMIZER), learning_rate=get(state.TRAIN_LEARNING_RATE),
                       batch_size=get(state.TRAIN_BATCH), epochs=get(state.TRAIN_EPOCHS),
                       early_stopping=get(state.TRAIN_EARLY_STOP), patience=get(state.TRAIN_PATIENCE),
                       seed=get(state.TRAIN_SEED)),
    )


