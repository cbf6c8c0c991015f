"""Predict page: use a trained model on new samples, from this server's runs or an uploaded bundle."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import streamlit as st

from core.errors import TrainscopeError
from core.predict import predict_with_bundle, predict_with_run
from dashboard import state
from dashboard.cache import get_store
from dashboard.views.results import list_runs_or_message, plain

SOURCES = ("A run on this server", "An uploaded bundle (.zip)")


def _upload(label: str, types: list[str], key: str, help: str):
    """An upload, refused with a message when it is larger than the limit.

    The browser enforces server.maxUploadSize too; this check holds for any client.
    """
    upload = st.file_uploader(label, type=types, key=key, help=help)
    limit_mb = st.get_option("server.maxUploadSize")
    if upload is not None and upload.size > limit_mb * 2**20:
        st.error(f"{plain(upload.name)} is {upload.size / 2**20:.1f} MB; files up to {limit_mb} MB are accepted.")
        return None
    return upload


def upload_name(name: str) -> str:
    """The uploaded file's own name, reduced to safe characters (its suffix says how to read it)."""
    path = Path(name)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem).strip("._")[:80] or "samples"
    return stem + path.suffix.lower()


def _pick_run(store) -> str | None:
    runs = list_runs_or_message(store)
    if runs is None:
        return None
    runs = runs[runs["status"].isin(["completed", "stopped"])]
    if runs.empty:
        st.info("No finished run yet: train one on the Train page, or upload a bundle.")
        return None
    labels = {row.run_id: f"{row.run_id} · {row.dataset} · {row.layers} · {row.test_accuracy:.1%}" for row in runs.itertuples()}
    return st.selectbox("Run", list(labels), format_func=labels.get, key=state.PREDICT_RUN,
                        help="Whose model predicts: newest first.")


def render_page() -> None:
    st.title("Predict with a trained model")
    st.caption("Give the model new samples as a CSV (one sample per row, an optional header row) or a .npy "
               "array, with the same raw features it was trained on (for images: the pixel values, flattened).")
    source = st.radio("Model", SOURCES, key=state.PREDICT_SOURCE, horizontal=True)
    store = get_store()
    if source == SOURCES[0]:
        run_id, bundle = _pick_run(store), None
    else:
        run_id = None
        bundle = _upload("Bundle", ["zip"], state.PREDICT_BUNDLE,
                         "A bundle downloaded from Trainscope. Only its model (loaded in Keras' safe mode) and its "
                         "plain-JSON preprocessing are read; its .joblib file is never opened.")
    samples = _upload("Samples", ["csv", "npy"], state.PREDICT_INPUT, "A .csv or .npy file, one sample per row.")
    if not samples or not (run_id or bundle):
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / upload_name(samples.name)  # messages then name the user's file
        path.write_bytes(samples.getvalue())
        try:
            with st.spinner("Predicting..."):
                frame = predict_with_run(store, run_id, path) if run_id else predict_with_bundle(bundle.getvalue(), path)
        except TrainscopeError as exc:
            st.error(f"Cannot predict: {plain(exc, 400)}")
            return
    st.subheader(f"{len(frame):,} predictions")
    probabilities = {column: st.column_config.NumberColumn(column, format="%.3f", width="small",
                                                           help="How likely the model thinks this class is (0 to 1).")
                     for column in frame.columns if column.startswith("p(")}
    st.dataframe(frame, key=state.PREDICT_TABLE, width="stretch", column_config=probabilities)
    st.download_button("Predictions (.csv)", frame.to_csv(index_label="sample").encode(), "predictions.csv", "text/csv",
                       key=state.PREDICT_DOWNLOAD, on_click="ignore", icon=":material/download:")


render_page()
