"""Uploaded bundles: only the model (safe mode) and JSON preprocessing are read, never pickles."""
import io
import pickle
import zipfile

import numpy as np
import pytest

from core.bundle import export_bundle
from core.cli import main
from core.errors import DataFormatError
from core.predict import predict_with_bundle, predict_with_run


class _Trap:
    """Unpickling this writes a marker file: proof that a pickle was loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _bundle(finished_run, **replace) -> bytes:
    store, run_id, _ = finished_run
    source = zipfile.ZipFile(io.BytesIO(export_bundle(store.load_run(run_id))))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            if name in replace and replace[name] is None:
                continue
            target.writestr(name, replace.get(name, source.read(name)))
        for name, payload in replace.items():
            if payload is not None and name not in source.namelist():
                target.writestr(name, payload)
    return buffer.getvalue()


def _samples(tmp_path):
    path = tmp_path / "samples.npy"
    np.save(path, np.zeros((3, 6)))
    return path


def test_uploaded_bundle_predicts_like_the_run_and_never_unpickles(finished_run, tmp_path):
    store, run_id, _ = finished_run
    marker = tmp_path / "pickle-was-loaded"
    payload = _bundle(finished_run, **{"preprocessing.joblib": pickle.dumps(_Trap(marker))})
    frame = predict_with_bundle(payload, _samples(tmp_path))
    assert not marker.exists()
    assert frame.equals(predict_with_run(store, run_id, _samples(tmp_path)))


def test_bundle_without_its_model_or_not_a_zip_is_refused(finished_run, tmp_path):
    with pytest.raises(DataFormatError, match="lacks model.keras"):
        predict_with_bundle(_bundle(finished_run, **{"model.keras": None}), _samples(tmp_path))
    with pytest.raises(DataFormatError, match="not a valid .zip"):
        predict_with_bundle(b"PK not really", _samples(tmp_path))


def test_model_with_code_inside_is_refused_by_safe_mode(finished_run, tmp_path):
    import keras

    model = keras.Sequential([keras.Input((6,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(1, activation="sigmoid")])
    path = tmp_path / "lambda.keras"
    model.save(path)
    payload = _bundle(finished_run, **{"model.keras": path.read_bytes()})
    with pytest.raises(DataFormatError, match="cannot be loaded"):
        predict_with_bundle(payload, _samples(tmp_path))


def test_cli_predicts_from_a_bundle(finished_run, tmp_path, capsys):
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(_bundle(finished_run))
    assert main(["predict", "--bundle", str(bundle), "--input", str(_samples(tmp_path))]) == 0
    assert capsys.readouterr().out.startswith("sample,predicted,")


def test_a_bundle_that_unpacks_too_large_is_refused_before_unpacking(finished_run, tmp_path, monkeypatch):
    import core.predict

    monkeypatch.setattr(core.predict, "MAX_BUNDLE_BYTES", 1000)
    with pytest.raises(DataFormatError, match="unpacks to more than"):
        predict_with_bundle(_bundle(finished_run), _samples(tmp_path))


def test_a_damaged_member_is_refused_in_one_line(finished_run, tmp_path):
    payload = bytearray(_bundle(finished_run))
    start = payload.index(b"model_info.json") + len(b"model_info.json")  # the member's data follows its name
    payload[start + 5] ^= 0xFF
    with pytest.raises(DataFormatError, match="model_info.json cannot be unpacked"):
        predict_with_bundle(bytes(payload), _samples(tmp_path))


@pytest.mark.parametrize("replace, words", [
    ({"preprocessing.json": b'{"kind": "standardize", "mean": [0], "scale": [1], "n_features": 1}'},
     "the model takes 6 features but preprocessing.json says 1"),
    ({"preprocessing.json": b'{"kind": "rescale", "factor": "lots", "n_features": 6}'}, "positive rescale factor"),
    ({"preprocessing.json": b'{"kind": "shell", "n_features": 6}'}, "kind must be standardize or rescale"),
    ({"preprocessing.json": b'[1, 2]'}, "must be a JSON object"),
    ({"model_info.json": b'{"class_names": ["only one"]}'}, "needs 2 class names"),
    ({"model_info.json": b'{"no": "names"}'}, "needs 2 class names"),
])
def test_bundle_parts_that_do_not_fit_are_refused(finished_run, tmp_path, replace, words):
    with pytest.raises(DataFormatError, match=words):
        predict_with_bundle(_bundle(finished_run, **replace), _samples(tmp_path))
