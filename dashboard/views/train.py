"""Train page (landing): pick data, set the knobs, press Train, watch it learn, read the results."""
from __future__ import annotations

import streamlit as st

from core.config import ACTIVATIONS, BOUNDS, DATASETS, OPTIMIZERS, DataConfig, ModelConfig, RunConfig, TrainingConfig, check_against_data
from core.data import DATASET_LABELS, Dataset, describe_dataset
from core.errors import ConfigError, RunNotFoundError, TrainscopeError
from dashboard import charts, state
from dashboard.cache import get_dataset, get_projection, get_sample_images, get_store, get_worker_pool
from dashboard.views.results import render_curves, render_run_results

DEFAULTS = RunConfig()
LEARNING_RATES = (0.00001, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BATCH_SIZES = (1, 4, 8, 12, 16, 32, 64, 128, 256, 512, 1024)
TRAIN_SIZES = (500, 1000, 2000, 5000, 10000, 20000, 30000, 60000)
DEFAULT_TRAIN_SIZE = 5000
POLL_SECONDS = 0.5
KEEP = {"persist_state": "session"}  # controls keep their values while another page is shown
PROVIDE_DATA_HINT = ("To use it here, put the four MNIST IDX files (or keras' mnist.npz) in a folder and start "
                     "the app with MNIST_DIR=/that/folder (FASHION_MNIST_DIR for Fashion-MNIST), or run it "
                     "on a machine with internet access. The other datasets work offline.")


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


def _int_slider(label: str, key: str, bound: str, help: str, **kwargs) -> int:
    low, high = BOUNDS[bound]
    return st.slider(label, int(low), int(kwargs.pop("max_value", high)), key=key, help=help, **KEEP, **kwargs)


def render_data_controls() -> str:
    dataset = st.selectbox("Dataset", DATASETS, format_func=DATASET_LABELS.get, key=state.TRAIN_DATASET,
                           help="What the network learns to recognise.", **KEEP)
    if dataset == "synthetic":
        _int_slider("Samples", state.TRAIN_SAMPLES, "n_samples", step=100,
                    help="How many points to generate (70% train, 15% validation, 15% test).")
        features = _int_slider("Features", state.TRAIN_FEATURES, "n_features",
                               help="How many numbers describe each point.")
        if st.session_state.get(state.TRAIN_INFORMATIVE, 0) > features:
            st.session_state[state.TRAIN_INFORMATIVE] = features
        _int_slider("Useful features", state.TRAIN_INFORMATIVE, "n_informative", max_value=features,
                    help="How many of the features actually say something about the class; the rest are noise or copies.")
        st.slider("Class separation", *BOUNDS["class_sep"], step=0.1, key=state.TRAIN_CLASS_SEP,
                  help="How far apart the two groups are: larger is easier.", **KEEP)
        st.slider("Label noise", *BOUNDS["flip_y"], step=0.01, key=state.TRAIN_NOISE,
                  help="Share of points given a random label on purpose: no model can get those right.", **KEEP)
        _int_slider("Data seed", state.TRAIN_DATA_SEED, "seed", max_value=9999,
                    help="Same seed, same points. Change it to draw a new dataset.")
    elif dataset != "digits":
        st.select_slider("Training images", TRAIN_SIZES, key=state.TRAIN_SIZE,
                         help="How many of the official training images to use (a fifth of them for validation). "
                              "Fewer trains faster; more is more accurate.", **KEEP)
    return dataset


def render_model_controls() -> None:
    layers = _int_slider("Hidden layers", state.TRAIN_LAYERS, "hidden_layers",
                         help="How many layers of neurons sit between the input and the answer.")
    for index in range(layers):
        _int_slider(f"Neurons in layer {index + 1}", state.TRAIN_UNITS.format(index), "hidden_units",
                    max_value=512, help="More neurons can learn more complicated patterns, and overfit more easily.")
    st.slider("Dropout", *BOUNDS["dropout"], step=0.05, key=state.TRAIN_DROPOUT,
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
    _int_slider("Epochs", state.TRAIN_EPOCHS, "epochs", max_value=200,
                help="How many times the network goes through the whole training set (at most).")
    early = st.toggle("Early stopping", key=state.TRAIN_EARLY_STOP,
                      help="Stop when the validation loss stops improving, and keep the best epoch's weights.", **KEEP)
    _int_slider("Patience", state.TRAIN_PATIENCE, "patience", max_value=50, disabled=not early,
                help="How many epochs without improvement to wait before stopping.")
    _int_slider("Seed", state.TRAIN_SEED, "seed", max_value=9999,
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


def load_for_preview(data_config: DataConfig) -> Dataset | None:
    """The data the controls describe, or None with a how-to when it cannot be loaded here."""
    try:
        return get_dataset(data_config)
    except ConfigError as exc:
        st.warning(f"These data settings do not fit the data: {exc}")
        if exc.field == "train_size":
            st.caption("Lower 'Training images' in the sidebar.")
    except TrainscopeError as exc:
        st.warning(f"{DATASET_LABELS[data_config.dataset]} cannot be loaded here: {exc}")
        st.caption(PROVIDE_DATA_HINT)
    return None


def render_preview(dataset: Dataset, data_config: DataConfig, expanded: bool) -> None:
    """A look at the data: sample images, or a 2-D map of the points coloured by class."""
    with st.expander("Look at the data", expanded=expanded, icon=":material/visibility:"):
        if dataset.image_shape:
            images, labels = get_sample_images(data_config)
            figure = charts.image_grid_figure(images, labels, columns=10)
        else:
            points, labels = get_projection(data_config)
            figure = charts.projection_figure(points, labels, dataset.class_names)
        st.plotly_chart(figure, key=f"preview.{data_config.dataset}", width="stretch")
        sizes = f"{len(dataset.y_train):,} training, {len(dataset.y_val):,} validation, {len(dataset.y_test):,} test samples"
        st.caption(f"{sizes}; {dataset.num_classes} classes; {dataset.input_dim} inputs per sample. {dataset.source}")


def start_run() -> None:
    """The Train button's callback: validate, then hand the run to a worker process.

    It runs before the page is drawn, so that same drawing already shows the run live and
    the button disabled. The page keeps only the run id.
    """
    store = get_store()
    try:
        config = config_from_widgets()
        check_against_data(config, len(get_dataset(config.data).y_train))
        run_id = get_worker_pool(str(store.root)).start_run(config)
    except TrainscopeError as exc:
        st.session_state[state.TRAIN_ERROR] = f"Cannot start training: {exc}"
        return
    st.session_state[state.TRAIN_RUN_ID] = run_id
    st.query_params["run"] = run_id


@st.fragment(run_every=POLL_SECONDS)
def render_live(run_id: str) -> None:
    """Redrawn on a timer from the run folder; a full rerun shows the results at the end."""
    store = get_store()
    try:
        run = store.load_run(run_id)
    except RunNotFoundError:
        st.warning("This run was deleted.")
        return
    if not run.is_active:
        st.rerun()
    done, planned = len(run.history), run.status.get("epochs_planned") or 1
    seconds = seconds_per_epoch(run.history)
    left = f" · about {seconds * (planned - done):.0f} s left at most" if seconds else ""
    text = f"Epoch {done} of {planned}{left}" if done else "Starting: loading the data and TensorFlow..."
    st.progress(min(done / planned, 1.0), text=text)
    if store.stop_requested(run_id):
        st.caption("Stopping after this epoch; the best epoch's weights will be kept.")
    elif st.button("Stop", key=state.TRAIN_STOP, icon=":material/stop_circle:",
                   help="End training after the current epoch and keep the best weights so far."):
        store.request_stop(run_id)
        st.rerun(scope="fragment")
    if done:  # no empty charts while the worker starts: the browser's time goes to nothing else
        render_curves(run, key=f"live.{run_id}", live=True)


def seconds_per_epoch(history) -> float | None:
    """Typical epoch time; the first epoch (TensorFlow warming up) is left out once others exist."""
    seconds = history["seconds"].dropna()
    return float(seconds.iloc[1:].median() if len(seconds) > 1 else seconds.median()) if len(seconds) else None


def current_run_id() -> str | None:
    """This session's run, or the one in the URL after a refresh."""
    run_id = st.session_state.get(state.TRAIN_RUN_ID) or st.query_params.get("run")
    st.session_state[state.TRAIN_RUN_ID] = run_id
    return run_id


def render_run_area(store, run_id: str) -> None:
    try:
        run = store.load_run(run_id)
    except RunNotFoundError:
        st.session_state[state.TRAIN_RUN_ID] = None
        st.query_params.pop("run", None)
        st.info("That run no longer exists; train a new one.")
        return
    st.subheader(f"Run {run.run_id}")
    if run.is_active:
        render_live(run.run_id)
    else:
        render_run_results(store, run, key=f"train.{run.run_id}")


def render_page() -> None:
    for key, value in widget_defaults().items():
        st.session_state.setdefault(key, value)
    store = get_store()
    run_id = current_run_id()
    active = bool(run_id) and _is_active(store, run_id)
    with st.sidebar:
        dataset = render_data_controls()
        with st.expander("Model", expanded=True):
            render_model_controls()
        with st.expander("Training", expanded=True):
            render_training_controls()
    st.title("Train a neural network")
    data_config = _preview_data_config(dataset)
    st.caption(describe_dataset(data_config.dataset))
    data = load_for_preview(data_config)
    st.button("Train", type="primary", key=state.TRAIN_BUTTON, icon=":material/play_arrow:", on_click=start_run,
              disabled=active or data is None,
              help="Start training with the settings on the left. Moving a slider never retrains by itself.")
    if error := st.session_state.pop(state.TRAIN_ERROR, None):
        st.error(error)
    if active:
        st.caption("A run is training; stop it or wait for it to finish before starting another.")
    if data is not None:  # folded away while a run is shown: the run matters most then
        render_preview(data, data_config, expanded=not run_id)
    if run_id:
        render_run_area(store, run_id)
    if not active:  # a warm worker waits for the next Train; started last, so the page draws first
        get_worker_pool(str(store.root)).warm_up()


def _preview_data_config(dataset: str) -> DataConfig:
    """The data the controls describe (sliders cannot make it invalid; the fallback is a guard)."""
    try:
        return config_from_widgets().data
    except TrainscopeError:
        return DataConfig(dataset=dataset)


def _is_active(store, run_id: str) -> bool:
    try:
        return store.load_run(run_id).is_active
    except RunNotFoundError:
        return False


render_page()
