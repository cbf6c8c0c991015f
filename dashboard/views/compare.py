"""Compare page: overlay the curves of chosen runs, show which settings differ, and plot
one setting against test accuracy across all finished runs.

Only completed or stopped runs with test results can be compared; the rest are counted
and skipped. Everything is read from the run folders on each rerun.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import TrainscopeError
from core.store import Run, RunStore
from core.summary import data_line
from dashboard import charts, state
from dashboard.cache import get_store
from dashboard.views.results import list_runs_or_message, plain

COMPARABLE_STATES = ("completed", "stopped")
SKIP_REASONS = {
    "broken": "damaged", "failed": "failed", "interrupted": "interrupted",
    "queued": "still training", "running": "still training",
}
SETTING_CHOICES = {  # list_runs column -> plain words for the selectbox
    "dropout": "Dropout", "learning_rate": "Learning rate", "batch_size": "Batch size",
    "layers": "Layers (units per hidden layer)", "optimizer": "Optimizer", "activation": "Activation",
    "epochs_run": "Epochs run", "epochs_planned": "Epochs planned", "dataset": "Dataset",
}
HIGHLIGHT = "background-color: #fff3bf"
DIFFERS = "differs"


def run_label(row: pd.Series) -> str:
    """e.g. '20261203-185131 · synthetic · 64-32 · 90.0%'."""
    return f"{row['run_id'][:15]} · {row['dataset']} · {row['layers']} · {row['test_accuracy']:.1%}"


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Finished runs with test results: the only ones whose numbers mean something side by side."""
    return frame[frame["status"].isin(COMPARABLE_STATES) & frame["test_accuracy"].notna()]


def skipped_note(frame: pd.DataFrame, usable: pd.DataFrame) -> str | None:
    """e.g. 'Left out 3 runs without test results: 1 damaged, 2 still training.'"""
    rest = frame.loc[~frame.index.isin(usable.index), "status"]
    if rest.empty:
        return None
    counts = rest.map(lambda s: SKIP_REASONS.get(s, "without test results")).value_counts()
    parts = ", ".join(f"{count} {reason}" for reason, count in counts.items())
    noun = "run" if len(rest) == 1 else "runs"
    return f"Left out {len(rest)} {noun} without test results: {parts}."


def pick_runs(labels: dict[str, str]) -> list[str]:
    """The multiselect; starts with the two newest runs and drops picks that no longer exist."""
    options = list(labels)
    if state.COMPARE_RUNS in st.session_state:
        st.session_state[state.COMPARE_RUNS] = [r for r in st.session_state[state.COMPARE_RUNS] if r in labels]
    else:
        st.session_state[state.COMPARE_RUNS] = options[:2]
    return st.multiselect(
        "Runs to compare", options, key=state.COMPARE_RUNS, format_func=labels.get,
        placeholder="Choose two or more runs",
        help="Each entry: start time · dataset · layers · test accuracy. Only finished runs with test results are listed.",
    )


def load_runs(store: RunStore, run_ids: list[str]) -> list[Run]:
    """The picked runs read in full; one deleted meanwhile is reported and left out."""
    runs = []
    for run_id in run_ids:
        try:
            run = store.load_run(run_id)
        except (TrainscopeError, OSError, ValueError) as exc:
            st.warning(f"Run {run_id} is left out: {plain(exc)}")
            continue
        if run.config and run.metrics:
            runs.append(run)
        else:
            st.warning(f"Run {run_id} is left out: it has no test results ({run.state}).")
    return runs


def column_names(runs: list[Run]) -> list[str]:
    """Short unique names for table columns: the start time, or the full id if two share it."""
    stamps = [run.run_id[:15] for run in runs]
    return [stamp if stamps.count(stamp) == 1 else run.run_id for stamp, run in zip(stamps, runs)]


def settings_of(run: Run) -> dict[str, str]:
    """Every setting as display text, so runs compare cell by cell."""
    data, model, training = run.config.data, run.config.model, run.config.training
    return {
        "Dataset": data.dataset, "Data options": data_line(run.config),
        "Layers": "-".join(map(str, model.hidden_units)), "Activation": model.activation,
        "Dropout": f"{model.dropout:g}", "Optimizer": training.optimizer,
        "Learning rate": f"{training.learning_rate:g}", "Batch size": str(training.batch_size),
        "Epochs planned": str(training.epochs), "Early stopping": "on" if training.early_stopping else "off",
        "Patience": str(training.patience), "Seed": str(training.seed),
    }


def results_of(run: Run) -> dict[str, str]:
    """The test results as display text."""
    metrics = run.metrics
    return {
        "Test accuracy": f"{metrics['test_accuracy']:.1%}", "Test loss": f"{metrics['test_loss']:.4f}",
        "Macro F1": f"{metrics['macro_f1']:.3f}", "Best epoch": str(metrics["best_epoch"]),
        "Epochs run": str(metrics["epochs_run"]),
    }


def comparison_table(runs: list[Run]) -> pd.DataFrame:
    """One row per setting or result, one column per run, plus a 'Difference' marker column."""
    names = column_names(runs)
    settings = pd.DataFrame({name: settings_of(run) for name, run in zip(names, runs)})
    results = pd.DataFrame({name: results_of(run) for name, run in zip(names, runs)})
    settings.insert(0, "Difference", [DIFFERS if n > 1 else "" for n in settings.nunique(axis=1)])
    results.insert(0, "Difference", "result")
    table = pd.concat([settings, results])
    table.index.name = "Setting"
    return table


def _highlight(row: pd.Series) -> list[str]:
    """Styler rule: a whole row tinted when its setting differs."""
    return [HIGHLIGHT if row["Difference"] == DIFFERS else ""] * len(row)


def legend_below(figure, entries: int):
    """Long run labels wrap into several legend rows: below the plot they cannot cover the title."""
    figure.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
                         margin=dict(t=60, b=70), height=420 + 22 * entries)
    return figure


def render_comparison(runs: list[Run], labels: dict[str, str]) -> None:
    """Overlaid validation curves, then the settings and results side by side."""
    histories = {}
    for run in runs:  # two runs started in the same second could share a label
        label = labels[run.run_id]
        histories[label if label not in histories else f"{label} ({run.run_id[-6:]})"] = run.history
    left, right = st.columns(2)
    for column, metric, key in ((left, "loss", state.COMPARE_LOSS_CHART), (right, "accuracy", state.COMPARE_ACCURACY_CHART)):
        figure = legend_below(charts.compare_history_figure(histories, metric), len(histories))
        column.plotly_chart(figure, key=key, width="stretch")
    st.subheader("Settings and results")
    table = comparison_table(runs)  # every cell is built from checked settings and numbers, no free text
    st.table(table.style.apply(_highlight, axis=1))
    differing = table.index[table["Difference"] == DIFFERS].tolist()
    text = ", ".join(differing).lower() if differing else "nothing: all settings are the same"
    st.caption(f"Highlighted settings differ between these runs: {text}. The last five rows are test results.")


def render_setting_chart(frame: pd.DataFrame) -> None:
    """One setting against test accuracy for every run with test results."""
    st.subheader("Which setting goes with higher accuracy?")
    setting = st.selectbox(
        "Setting", list(SETTING_CHOICES), key=state.COMPARE_SETTING, format_func=SETTING_CHOICES.get,
        help="Plots this setting against test accuracy, one dot per finished run (all runs, not only those picked).",
    )
    figure = charts.setting_vs_accuracy_figure(frame, setting)
    st.plotly_chart(figure, key=state.COMPARE_SETTING_CHART, width="stretch")
    st.caption(f"Each dot is one of {len(frame)} runs with test results; hover a dot to see which run it is. "
               "Runs that differ in other settings too can hide or fake a trend.")


def render_too_few(count: int) -> None:
    """Nothing to compare yet: say why and point to the Train page."""
    if count == 0:
        st.info("No finished runs yet. Train at least two models, then compare them here.", icon=":material/info:")
    else:
        st.info("Only one finished run so far. Train another one (for example with a different dropout or "
                "learning rate) to compare the two.", icon=":material/info:")
    st.page_link("views/train.py", label="Go to the Train page", icon=":material/model_training:")


def render_compare_page() -> None:
    """Pick runs, compare them, then the one-setting chart over all finished runs."""
    st.title("Compare runs")
    st.caption("Put finished runs side by side: their validation curves, their settings (differences "
               "highlighted) and their test results.")
    store = get_store()
    frame = list_runs_or_message(store)
    if frame is None:
        return
    usable = comparable(frame)
    note = skipped_note(frame, usable)
    if len(usable) < 2:
        render_too_few(len(usable))
        if note:
            st.caption(note)
        return
    labels = {row["run_id"]: run_label(row) for _, row in usable.iterrows()}
    picked = pick_runs(labels)
    if note:
        st.caption(note)
    runs = load_runs(store, picked)
    if len(runs) < 2:
        st.info("Pick at least two runs above to compare them.", icon=":material/touch_app:")
    else:
        render_comparison(runs, labels)
    st.divider()
    render_setting_chart(usable)


render_compare_page()
