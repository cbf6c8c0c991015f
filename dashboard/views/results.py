"""A run's results: metric cards, curves, confusion matrix, report, mistakes, downloads.

Shared by the Train page (after a run) and the Runs page. Everything is read from the
run folder, so a rerun (a download click, a toggle) shows the same results again.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import streamlit as st

from core.bundle import export_bundle, history_csv, report_csv
from core.errors import TrainscopeError
from core.store import Run, RunStore
from core.summary import accuracy_story, training_story
from dashboard import charts, state

FAILED_HINT = "Nothing was saved for this run except its settings and the epochs it finished."


def plain(text: object, limit: int = 200) -> str:
    """Text from disk or the URL made safe for st.* markdown: no links, images or colours."""
    text = str(text)
    if len(text) > limit:  # cut between words, not inside one
        text = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + " …"
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~$:])", r"\\\1", text)


def list_runs_or_message(store: RunStore) -> pd.DataFrame | None:
    """Every run, newest first; an unreadable runs folder becomes a message, not a crash."""
    try:
        return store.list_runs()
    except (TrainscopeError, OSError, ValueError) as exc:
        st.error(f"The runs folder cannot be read: {plain(exc)}")
        return None


def render_status(run: Run) -> None:
    """One plain line for a run that did not complete."""
    if run.problem:
        st.warning(f"This run's folder is damaged and cannot be shown in full: {plain(run.problem)}.")
    elif run.state == "failed":
        st.error(f"Training failed: {plain(run.status.get('error') or 'unknown reason', 1000)}. {FAILED_HINT}")
    elif run.state == "interrupted":
        st.warning(f"Training was interrupted after {len(run.history)} epochs (the training process ended). "
                   f"{FAILED_HINT}")


def render_curves(run: Run, key: str, live: bool = False) -> None:
    """Loss and accuracy side by side, with the kept and stopping epochs marked."""
    metrics = run.metrics or {}
    planned = run.status.get("epochs_planned") or (run.config.training.epochs if run.config else None)
    stopped = metrics.get("epochs_run") if metrics.get("stopped_early") or metrics.get("stop_requested") else None
    left, right = st.columns(2)
    for column, metric in ((left, "loss"), (right, "accuracy")):
        figure = charts.history_figure(
            run.history, metric, best_epoch=None if live else metrics.get("best_epoch"),
            stopped_epoch=stopped, epochs_planned=planned if live else None,
            best_kept=metrics.get("kept_epoch") == metrics.get("best_epoch"),
        )
        column.plotly_chart(figure, key=f"{key}.{metric}", width="stretch")


def render_metric_cards(run: Run) -> None:
    metrics = run.metrics
    cards = st.columns(4)
    cards[0].metric("Test accuracy", f"{metrics['test_accuracy']:.1%}", help="Share of test samples classified correctly.")
    cards[1].metric("Test loss", f"{metrics['test_loss']:.4f}", help="Cross-entropy on the test set: lower is better.")
    cards[2].metric("Macro F1", f"{metrics['macro_f1']:.3f}",
                    help="The F1 score (balance of precision and recall) averaged over classes, each class counting the same.")
    cards[3].metric("Epochs", f"{metrics['epochs_run']}", help="Epochs trained; the model keeps the epoch marked in the curves.")


def render_run_results(store, run: Run, key: str) -> None:
    """The whole results view for one run; `key` keeps widget keys unique per place."""
    render_status(run)
    if run.metrics and run.config:
        render_metric_cards(run)
        training = run.config.training
        st.info(f"{training_story(run.metrics, training.early_stopping, training.patience)} "
                f"{accuracy_story(run.metrics)}")
    if len(run.history):
        render_curves(run, key)
    if run.metrics:
        _render_details(run, key)
        _render_downloads(run, key)


def _render_details(run: Run, key: str) -> None:
    metrics = run.metrics
    names = metrics["class_names"]
    image_data = (run.path / "misclassified.npz").exists() and run.config and run.config.data.dataset != "synthetic"
    tabs = st.tabs(["Confusion matrix", "Report", "Mistakes" if image_data else "ROC curve"])
    with tabs[0]:
        normalize = st.toggle("Show row percentages", key=state.RESULTS_NORMALIZE.format(key),
                              help="Each row shows how the samples of one true class were classified, in percent.")
        figure = charts.confusion_matrix_figure(np.array(metrics["confusion_matrix"]), names, normalize=normalize)
        st.plotly_chart(figure, key=f"{key}.confusion", width="stretch")
    with tabs[1]:
        st.dataframe(_report_frame(metrics["report"]), hide_index=True, width="stretch", height="content")
        st.caption("Precision: of the samples predicted as this class, how many were right. Recall: of the samples "
                   "of this class, how many were found. F1 balances the two. Support: samples in the test set.")
    with tabs[2]:
        _render_mistakes(run, names, key) if image_data else _render_roc(metrics, key)


def _report_frame(report: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(report).rename(columns=str.capitalize).round(3)


def _render_mistakes(run: Run, names: list[str], key: str) -> None:
    with np.load(run.path / "misclassified.npz", allow_pickle=False) as saved:
        images, y_true, y_pred, confidence = (saved[k] for k in ("images", "y_true", "y_pred", "confidence"))
    if not len(images):
        st.success("The model got every test image right.")
        return
    # two lines, so that long class names (Fashion-MNIST's "Ankle boot") fit above one image
    titles = [f"{names[t]} →<br>{names[p]} ({c:.0%})" for t, p, c in zip(y_true, y_pred, confidence)]
    st.caption(f"Test images the model got wrong (first {len(images)} of {run.metrics['n_misclassified']}): "
               "true label → predicted label (how sure the model was).")
    st.plotly_chart(charts.image_grid_figure(images, titles), key=f"{key}.mistakes", width="stretch")


def _render_roc(metrics: dict, key: str) -> None:
    roc = metrics.get("roc")
    if not roc:
        st.caption("The ROC curve needs both classes in the test set.")
        return
    st.plotly_chart(charts.roc_curve_figure(roc["fpr"], roc["tpr"], roc["auc"]), key=f"{key}.roc", width="stretch")
    st.caption("How many positives the model finds (up) against how many negatives it wrongly flags (right), "
               "for every decision threshold. The closer to the top-left corner, the better.")


def _render_downloads(run: Run, key: str) -> None:
    """Files are made only when clicked, and a click does not rerun the page."""
    st.subheader("Downloads")
    stem = f"trainscope-{run.run_id}"
    files = [
        ("Model (.keras)", lambda: (run.path / "model.keras").read_bytes(), f"{stem}.keras", "application/octet-stream", "model"),
        ("Preprocessing (.joblib)", lambda: (run.path / "preprocessing.joblib").read_bytes(), f"{stem}-preprocessing.joblib",
         "application/octet-stream", "preprocessing"),
        ("Bundle (.zip)", lambda: export_bundle(run), f"{stem}.zip", "application/zip", "bundle"),
        ("History (.csv)", lambda: history_csv(run), f"{stem}-history.csv", "text/csv", "history"),
        ("Report (.csv)", lambda: report_csv(run), f"{stem}-report.csv", "text/csv", "report"),
    ]
    row = st.container(horizontal=True)
    for label, make, name, mime, slug in files:
        row.download_button(label, data=make, file_name=name, mime=mime, on_click="ignore",
                               key=f"{key}.download.{slug}", icon=":material/download:")
    st.caption("The bundle holds the model, its preprocessing, a README and predict.py, which predicts on a "
               "CSV or .npy file without Trainscope installed.")
