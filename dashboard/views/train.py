"""Train page (landing): pick data, set the knobs, press Train, watch it learn, read the results."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import streamlit as st

from core.config import DataConfig, check_against_data
from core.data import DATASET_LABELS, Dataset, describe_dataset
from core.errors import ConfigError, DataUnavailableError, RunNotFoundError, TrainscopeError
from core.store import RUN_ID_PATTERN
from core.summary import duration_words, settings_line
from dashboard import charts, state
from dashboard.cache import get_dataset, get_projection, get_sample_images, get_store, get_worker_pool
from dashboard.controls import (
    config_from_widgets, field_message, init_controls, render_data_controls, render_model_controls,
    render_training_controls,
)
from dashboard.views.results import render_curves, render_run_results

POLL_SECONDS = 0.5
FIRST_EPOCH_WAIT_SECONDS = 0.4  # below POLL_SECONDS, so the timer's next redraw is not held up
PROVIDE_DATA_HINT = ("To use it here, put the four MNIST IDX files (or keras' mnist.npz) in a folder and start "
                     "the app with MNIST_DIR=/that/folder (FASHION_MNIST_DIR for Fashion-MNIST), or run it "
                     "on a machine with internet access. The other datasets work offline.")


def load_for_preview(data_config: DataConfig) -> Dataset | None:
    """The data the controls describe, or None with a how-to when it cannot be loaded here."""
    try:
        return get_dataset(data_config)
    except ConfigError as exc:
        st.warning(f"These data settings do not fit the data. {field_message(exc)}.")
        if exc.field == "train_size":
            st.caption("Lower 'Training images' in the sidebar.")
    except DataUnavailableError as exc:
        st.warning(f"{DATASET_LABELS[data_config.dataset]} cannot be loaded here: {exc.reason}.")
        st.caption(PROVIDE_DATA_HINT)
    except TrainscopeError as exc:
        st.warning(f"{DATASET_LABELS[data_config.dataset]} cannot be loaded here: {exc}")
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
        reason = field_message(exc) if isinstance(exc, ConfigError) else str(exc)
        st.session_state[state.TRAIN_ERROR] = f"Cannot start training. {reason[:1].upper()}{reason[1:]}"
        return
    st.session_state[state.TRAIN_RUN_ID] = run_id
    st.query_params["run"] = run_id


@st.fragment(run_every=POLL_SECONDS)
def render_live(run_id: str) -> None:
    """Redrawn on a timer from the run folder; a full rerun shows the results at the end."""
    store = get_store()
    try:
        run = store.load_run(run_id)
        if run.is_active and not len(run.history) and wait_for_first_epoch(store, run_id):
            run = store.load_run(run_id)
    except RunNotFoundError:
        st.warning("This run was deleted.")
        return
    if not run.is_active:
        st.rerun()
    done, planned = len(run.history), run.status.get("epochs_planned") or 1
    st.progress(min(done / planned, 1.0), text=progress_text(run, done, planned))
    if store.stop_requested(run_id):
        st.caption("Stopping after this epoch; the best epoch's weights will be kept.")
    elif st.button("Stop", key=state.TRAIN_STOP, icon=":material/stop_circle:",
                   help="End training after the current epoch and keep the best weights so far."):
        store.request_stop(run_id)
        st.rerun(scope="fragment")
    if done:  # no empty charts while the worker starts: the browser's time goes to nothing else
        render_curves(run, key=f"live.{run_id}", live=True)


def wait_for_first_epoch(store, run_id: str) -> bool:
    """Watch for the first epoch for most of a poll interval, so it shows as soon as it is
    written rather than up to POLL_SECONDS later; only before it, when nothing else changes."""
    deadline = time.monotonic() + FIRST_EPOCH_WAIT_SECONDS
    while time.monotonic() < deadline:
        if store.has_epochs(run_id):
            return True
        time.sleep(0.03)
    return False


def progress_text(run, done: int, planned: int) -> str:
    """Where the run is, in words; the clock before the first epoch shows it is alive."""
    if done:
        seconds = seconds_per_epoch(run.history)
        left = f" · about {duration_words(seconds * (planned - done))} left at most" if seconds and done < planned else ""
        return f"Epoch {done} of {planned}{left}"
    started = run.status.get("started")
    elapsed = (datetime.now(timezone.utc) - datetime.fromisoformat(started)).total_seconds() if started else 0
    if run.status.get("phase") == "training":
        return (f"Training the first of {planned} epochs: {duration_words(elapsed)} so far "
                "(the first one also sets TensorFlow up)")
    return f"Starting: loading the data and TensorFlow ({duration_words(elapsed)})"


def seconds_per_epoch(history) -> float | None:
    """Typical epoch time; the first epoch (TensorFlow warming up) is left out once others exist."""
    seconds = history["seconds"].dropna()
    return float(seconds.iloc[1:].median() if len(seconds) > 1 else seconds.median()) if len(seconds) else None


def current_run_id() -> str | None:
    """This session's run, or the one in the URL after a refresh; kept in the URL either way,
    since a page switch drops it and a refresh after that must find the run again."""
    run_id = st.session_state.get(state.TRAIN_RUN_ID) or st.query_params.get("run")
    st.session_state[state.TRAIN_RUN_ID] = run_id
    if run_id and st.query_params.get("run") != run_id:
        st.query_params["run"] = run_id
    return run_id


def _load_run(store, run_id: str | None):
    """The run to show, or None when there is none (or it is gone)."""
    try:
        return store.load_run(run_id) if run_id else None
    except RunNotFoundError:
        return None


def render_run_area(store, run_id: str, run) -> None:
    if run is None:
        st.session_state[state.TRAIN_RUN_ID] = None
        st.query_params.pop("run", None)
        if RUN_ID_PATTERN.match(run_id):
            st.info(f"Run {run_id} is not in the runs folder (it may have been deleted); train a new one.")
        else:
            st.info("The link does not name a run; train a new one.")
        return
    st.subheader(f"Run {run.run_id}")
    if run.config:  # the controls may already describe the next run: say what this one is
        st.caption(settings_line(run.config))  # built from validated settings only
    if run.is_active:
        render_live(run.run_id)
    else:
        render_run_results(store, run, key=f"train.{run.run_id}")


def render_page() -> None:
    store = get_store()
    run_id = current_run_id()
    run = _load_run(store, run_id)
    init_controls(run.config if run else None)
    active = run is not None and run.is_active
    with st.sidebar:
        dataset = render_data_controls()
        with st.expander("Model", expanded=True):
            render_model_controls()
        with st.expander("Training", expanded=True):
            render_training_controls()
    st.title("Train a neural network")
    data_config = _preview_data_config(dataset)
    st.caption(describe_dataset(data_config.dataset))
    unloadable = st.session_state.get(state.TRAIN_UNLOADABLE) == data_config
    st.button("Train", type="primary", key=state.TRAIN_BUTTON, icon=":material/play_arrow:", on_click=start_run,
              disabled=active or unloadable,
              help="Start training with the settings on the left. Moving a slider never retrains by itself.")
    if error := st.session_state.get(state.TRAIN_ERROR):
        st.error(error)
    if active:
        st.caption("A run is training; stop it or wait for it to finish before starting another.")
    data = load_for_preview(data_config)  # after the button: a first load (seconds) must not hold it back
    if (data is None) != unloadable:  # the button went by the last load of these settings: correct it
        st.session_state[state.TRAIN_UNLOADABLE] = data_config if data is None else None
        st.rerun()
    st.session_state.pop(state.TRAIN_ERROR, None)  # shown once, by a drawing that was not cut short
    if data is not None:  # folded away while a run is shown: the run matters most then
        render_preview(data, data_config, expanded=run is None)
    if run_id:
        render_run_area(store, run_id, run)
    if not active:  # a warm worker waits for the next Train; started last, so the page draws first
        get_worker_pool(str(store.root)).warm_up()


def _preview_data_config(dataset: str) -> DataConfig:
    """The data the controls describe (sliders cannot make it invalid; the fallback is a guard)."""
    try:
        return config_from_widgets().data
    except TrainscopeError:
        return DataConfig(dataset=dataset)


render_page()
