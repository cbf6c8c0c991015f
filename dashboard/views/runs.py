"""Runs page: every recorded run in a table, one run's full results, deleting runs.

The run folders are read on every rerun (no cache), so runs made by `python -m core train`
or in another browser tab show up at once. The run shown is kept in the URL (?run=<id>)
so a link to a run works; a click in the table and the URL are kept in step.
"""
from __future__ import annotations


import pandas as pd
import streamlit as st

from core.errors import RunNotFoundError, TrainscopeError
from core.store import RUN_ID_PATTERN, Run, RunStore
from dashboard import state
from dashboard.cache import get_store
from dashboard.views.results import list_runs_or_message, plain, render_run_results

QUERY_PARAM = "run"
TABLE_COLUMNS = [  # run_id is passed along (tests, selection) but not shown: Time names the run
    "created", "dataset", "layers", "dropout", "learning_rate", "epochs_run", "best_epoch",
    "test_accuracy", "status", "problem", "run_id",
]
HIDDEN_COLUMNS = ("run_id",)
SETTING_NAMES = {  # config field -> plain words (others: underscores become spaces)
    "n_samples": "samples", "n_features": "features", "n_informative": "informative features",
    "class_sep": "class separation", "flip_y": "label noise", "validation_fraction": "validation share",
    "train_size": "training images", "data_dir": "data folder", "hidden_units": "units per layer",
    "epochs": "epochs planned",
}


# --- selection: the table click, the URL and the run shown are kept in step ----------------


def _table_pick(shown: str | None) -> str | None:
    """The run id selected in the table; `shown` when the table has not reported yet."""
    if state.RUNS_TABLE not in st.session_state:
        return shown
    rows = st.session_state[state.RUNS_TABLE]["selection"]["rows"]
    ids = st.session_state.get(state.RUNS_TABLE_IDS, [])
    return ids[rows[0]] if rows and rows[0] < len(ids) else None


def _choose_run_id() -> str | None:
    """A new click in the table wins, then a changed URL (an opened link), else the run shown."""
    shown = st.session_state.get(state.RUNS_SELECTED)
    picked = _table_pick(shown)
    if picked != shown:
        return picked
    return st.query_params.get(QUERY_PARAM) or None


def _remember_selection(run_id: str | None, ids: list[str]) -> None:
    """Write one choice to the session, the URL and the table highlight."""
    st.session_state[state.RUNS_SELECTED] = run_id
    if run_id:
        if st.query_params.get(QUERY_PARAM) != run_id:
            st.query_params[QUERY_PARAM] = run_id
    else:
        st.query_params.pop(QUERY_PARAM, None)
    rows = [ids.index(run_id)] if run_id in ids else []
    current = st.session_state.get(state.RUNS_TABLE)
    if current is None or current["selection"]["rows"] != rows:
        st.session_state[state.RUNS_TABLE] = {"selection": {"rows": rows, "columns": []}}
    st.session_state[state.RUNS_TABLE_IDS] = ids


def _selected_run(store: RunStore, ids: list[str]) -> tuple[Run | None, str | None]:
    """The run to show, or a message why it cannot be shown (the selection is then cleared)."""
    run_id = _choose_run_id()
    run, problem = None, None
    if run_id:
        name = run_id if RUN_ID_PATTERN.match(run_id) else "from the link"  # never echo odd URL text
        try:
            run = store.load_run(run_id)
        except RunNotFoundError:
            problem = (f"Run {name} cannot be shown: there is no such run in the runs folder (it may have been "
                       "deleted, or the link is wrong). Pick a run in the table.")
        except (TrainscopeError, OSError, ValueError) as exc:
            problem = f"Run {name} cannot be read: {plain(exc)}."
    _remember_selection(run.run_id if run else None, ids)
    return run, problem


# --- deleting: callbacks run before the page is drawn, so it never shows a deleted run ----


def _notice(kind: str, text: str) -> None:
    """Callbacks cannot draw; the next render shows this once."""
    st.session_state[state.RUNS_NOTICE] = (kind, text)


def _ask_delete(run_id: str) -> None:
    st.session_state[state.RUNS_PENDING_DELETE] = run_id


def _cancel_delete() -> None:
    st.session_state.pop(state.RUNS_PENDING_DELETE, None)


def _delete(run_id: str) -> None:
    """Delete for good; core refuses a run that is still training."""
    st.session_state.pop(state.RUNS_PENDING_DELETE, None)
    try:
        get_store().delete_run(run_id)
    except RunNotFoundError:
        _notice("warning", f"Run {run_id} was already deleted (perhaps in another tab or from the command line).")
    except TrainscopeError as exc:
        _notice("error", f"The run was not deleted: {plain(exc)}.")
        return
    except OSError as exc:
        _notice("error", f"Run {run_id} could not be deleted completely: {plain(exc.strerror or exc)}.")
        return
    else:
        _notice("success", f"Run {run_id} was deleted.")
    st.session_state[state.RUNS_SELECTED] = None
    st.query_params.pop(QUERY_PARAM, None)
    st.session_state[state.RUNS_TABLE] = {"selection": {"rows": [], "columns": []}}


def render_delete(run: Run) -> None:
    """A Delete button, then a confirm step naming the run."""
    if st.session_state.get(state.RUNS_PENDING_DELETE) != run.run_id:
        st.button("Delete this run", key=state.RUNS_DELETE, icon=":material/delete:", on_click=_ask_delete,
                  args=(run.run_id,), help="Removes the run's folder: its model, results and downloads. "
                  "You will be asked to confirm. A run that is still training must be stopped first.")
        return
    st.warning(f"Delete run {run.run_id} for good? Its model, results and downloads cannot be brought back.")
    row = st.container(horizontal=True)
    row.button(f"Yes, delete run {run.run_id}", key=state.RUNS_CONFIRM, type="primary", on_click=_delete,
               args=(run.run_id,), help="Deletes the run folder now.")
    row.button("Cancel", key=state.RUNS_CANCEL, on_click=_cancel_delete, help="Keep the run.")


# --- drawing ------------------------------------------------------------------------------


def render_table(frame: pd.DataFrame) -> None:
    """The sortable list; selecting a row reruns the page with that run shown."""
    column_config = {
        "created": st.column_config.DatetimeColumn("Time", format="YYYY-MM-DD HH:mm:ss", help="When the run started."),
        "dataset": st.column_config.TextColumn("Dataset"),
        "layers": st.column_config.TextColumn("Layers", help="Units in each hidden layer, e.g. 64-32 is two layers."),
        "dropout": st.column_config.NumberColumn("Dropout", format="%.2f",
                                                 help="Share of units switched off at random while training."),
        "learning_rate": st.column_config.NumberColumn("Learning rate", format="%g", help="How big a step each training update takes."),
        "epochs_run": st.column_config.NumberColumn("Epochs run", format="%d", help="Passes over the training data."),
        "best_epoch": st.column_config.NumberColumn("Best epoch", format="%d",
                                                    help="The epoch with the lowest validation loss."),
        "test_accuracy": st.column_config.NumberColumn("Test accuracy", format="percent",
                                                       help="Share of unseen test samples classified correctly."),
        "status": st.column_config.TextColumn("Status", help="completed, stopped, failed, interrupted, "
                                              "queued/running (still training) or broken (damaged folder)."),
        "problem": st.column_config.TextColumn("Problem", width="medium", help="Why a broken run cannot be shown."),
    }
    broken = frame["problem"].notna().any()
    columns = [c for c in TABLE_COLUMNS if c not in HIDDEN_COLUMNS and (c != "problem" or broken)]
    st.dataframe(frame[TABLE_COLUMNS], key=state.RUNS_TABLE, on_select="rerun", selection_mode="single-row",
                 hide_index=True, column_order=columns, column_config=column_config, width="stretch", placeholder="–")


def _settings_frame(run: Run) -> pd.DataFrame:
    """Every setting that applies to the run as (part, setting, value) rows."""
    rows, used = [], set(run.config.data.used_fields)
    for part, values in run.config.to_dict().items():
        for name, value in values.items():
            if part == "data" and name not in used:
                continue
            if isinstance(value, list):
                value = "-".join(map(str, value))
            shown = "not set" if value is None else ("on" if value is True else "off" if value is False else value)
            rows.append({"part": part, "setting": SETTING_NAMES.get(name, name.replace("_", " ")), "value": str(shown)})
    return pd.DataFrame(rows)


def render_settings(run: Run) -> None:
    """Folded away: the results matter first, the settings explain them."""
    if not run.config:
        return
    with st.expander("Settings of this run", expanded=False, icon=":material/tune:"):
        frame = _settings_frame(run)
        columns = st.columns(3)
        for column, part in zip(columns, ("data", "model", "training")):
            column.markdown(f"**{part.capitalize()}**")
            column.dataframe(frame[frame["part"] == part][["setting", "value"]], hide_index=True, width="stretch",
                             key=f"runs.settings.{part}")


def _stop(run_id: str) -> None:
    try:
        get_store().request_stop(run_id)
    except RunNotFoundError:
        _notice("warning", f"Run {run_id} was deleted meanwhile.")
        return
    _notice("info", f"Run {run_id} will stop after its current epoch and keep its best weights.")


def render_still_training(run: Run) -> None:
    """A live view is the Train page's job; here a plain count, Refresh and Stop."""
    planned = run.status.get("epochs_planned") or "?"
    st.info(f"This run is still training ({run.state}): {len(run.history)} of {planned} epochs so far. "
            "The Train page shows it live; here, refresh to see new epochs. A run can be deleted once it "
            "has stopped.", icon=":material/hourglass_top:")
    row = st.container(horizontal=True)
    row.button("Refresh", key=state.RUNS_REFRESH, icon=":material/refresh:", help="Read the run folder again.")
    if get_store().stop_requested(run.run_id):
        row.caption("Stopping after the current epoch.")
    else:
        row.button("Stop this run", key=state.RUNS_STOP, icon=":material/stop_circle:", on_click=_stop,
                   args=(run.run_id,), help="End training after the current epoch and keep the best weights so far.")


def render_run(store: RunStore, run: Run) -> None:
    """Header, settings and the shared results view of one run."""
    st.divider()
    st.subheader(f"Run {run.run_id}")
    dataset = run.config.data.dataset if run.config else "unknown data"
    st.caption(f"Status: {run.state} · dataset: {dataset} · {len(run.history)} epochs recorded")
    if run.is_active:
        render_still_training(run)
    render_settings(run)
    render_run_results(store, run, key=f"runs.{run.run_id}")
    if not run.is_active:
        render_delete(run)


def render_notice() -> None:
    """The outcome of a delete click, shown once."""
    kind, text = st.session_state.pop(state.RUNS_NOTICE, (None, None))
    if kind:
        getattr(st, kind)(text)


def render_empty() -> None:
    """First visit: point to where runs come from."""
    st.info("No runs yet. Train a model first; every training run is listed here.", icon=":material/info:")
    st.page_link("views/train.py", label="Go to the Train page", icon=":material/model_training:")


def render_runs_page() -> None:
    """Title, table, then the chosen run; the selection is settled before anything is drawn."""
    st.title("Runs")
    st.caption("Every training run saved on this computer, newest first. Click a row to see its results; "
               "click a column title to sort.")
    render_notice()
    store = get_store()
    frame = list_runs_or_message(store)
    if frame is None:
        return
    run, problem = _selected_run(store, frame["run_id"].tolist())
    if frame.empty:
        render_empty()
    else:
        render_table(frame)
    if problem:
        st.error(problem)
    elif run:
        render_run(store, run)
    elif not frame.empty:
        st.caption("Select a run in the table to see its curves, confusion matrix, report and downloads.")


render_runs_page()
