"""The Predict page through the real app (AppTest): a run's model or an uploaded bundle, and bad files."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from core.bundle import export_bundle
from core.predict import predict_with_run
from dashboard import state
from tests.conftest import ROOT

APP = str(ROOT / "dashboard" / "app.py")
PREDICT_PAGE = "views/predict.py"


def open_predict(monkeypatch, runs_dir) -> AppTest:
    monkeypatch.setenv("TRAINSCOPE_RUNS_DIR", str(runs_dir))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PREDICT_PAGE).run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, key: str, name: str, payload: bytes) -> AppTest:
    uploader = next(u for u in at.get("file_uploader") if u.key == key)
    uploader.set_value((name, payload, "application/octet-stream"))
    return at.run()


def bundle_bytes(finished_run) -> bytes:
    store, run_id, _ = finished_run
    return export_bundle(store.load_run(run_id))


def example_csv(finished_run) -> bytes:
    return zipfile.ZipFile(io.BytesIO(bundle_bytes(finished_run))).read("example_input.csv")


def test_predicts_with_a_run_and_offers_the_csv(monkeypatch, finished_run, tmp_path):
    store, run_id, _ = finished_run
    at = open_predict(monkeypatch, store.root)
    assert at.selectbox(key=state.PREDICT_RUN).value == run_id
    upload(at, state.PREDICT_INPUT, "samples.csv", example_csv(finished_run))
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    path = tmp_path / "samples.csv"
    path.write_bytes(example_csv(finished_run))
    expected = predict_with_run(store, run_id, path)
    assert list(table["predicted"]) == list(expected["predicted"]) and len(table) == 5
    assert at.subheader[0].value == "5 predictions"
    assert [b.label for b in at.download_button] == ["Predictions (.csv)"]


def test_uploaded_bundle_predicts_the_same(monkeypatch, finished_run, tmp_path):
    store, run_id, _ = finished_run
    at = open_predict(monkeypatch, tmp_path / "empty-runs")  # no runs here: the bundle is all there is
    at.radio(key=state.PREDICT_SOURCE).set_value("An uploaded bundle (.zip)").run()
    upload(at, state.PREDICT_BUNDLE, "bundle.zip", bundle_bytes(finished_run))
    upload(at, state.PREDICT_INPUT, "samples.csv", example_csv(finished_run))
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    path = tmp_path / "samples.csv"
    path.write_bytes(example_csv(finished_run))
    assert table.equals(predict_with_run(store, run_id, path))


@pytest.mark.parametrize("name, payload, words", [
    ("wrong.csv", b"1,2,3\n", "expected 6 features per sample, got 3"),
    ("ragged.csv", b"1,2,3,4,5,6\n1,2\n", "line 2 has 2 values"),
    ("nan.csv", b"1,2,3,4,5,nan\n", "NaN or infinite"),
    ("binary.csv", bytes(range(256)) * 4, "not a readable CSV text file"),
    ("broken.npy", b"\x93NUMPY not really", "not a readable .npy array"),
])
def test_bad_samples_give_one_clear_message(monkeypatch, finished_run, name, payload, words):
    store, _, _ = finished_run
    at = open_predict(monkeypatch, store.root)
    upload(at, state.PREDICT_INPUT, name, payload)
    assert not at.exception
    assert at.error[0].value.startswith(f"Cannot predict: {name}") and words in at.error[0].value
    assert not at.dataframe


def test_a_bundle_that_is_not_one_is_refused(monkeypatch, finished_run, tmp_path):
    at = open_predict(monkeypatch, tmp_path / "empty-runs")
    at.radio(key=state.PREDICT_SOURCE).set_value("An uploaded bundle (.zip)").run()
    upload(at, state.PREDICT_BUNDLE, "bundle.zip", b"PK\x03\x04 not a zip")
    upload(at, state.PREDICT_INPUT, "samples.csv", example_csv(finished_run))
    assert not at.exception
    assert "not a valid .zip" in at.error[0].value


def test_an_upload_over_the_limit_is_refused(monkeypatch, finished_run):
    store, _, _ = finished_run
    limit = st_config.get_option("server.maxUploadSize")
    st_config.set_option("server.maxUploadSize", 1)
    try:
        at = open_predict(monkeypatch, store.root)
        upload(at, state.PREDICT_INPUT, "huge.npy", np.zeros(300_000).tobytes())  # 2.3 MB
        assert not at.exception
        assert "files up to 1 MB are accepted" in at.error[0].value
        assert not at.dataframe
    finally:
        st_config.set_option("server.maxUploadSize", limit)


def test_no_finished_run_points_to_training_or_a_bundle(monkeypatch, tmp_path):
    at = open_predict(monkeypatch, tmp_path / "empty-runs")
    assert "No finished run yet" in at.info[0].value
    assert not at.exception
