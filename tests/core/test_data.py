"""load_dataset for every dataset, its failure messages, and the portable preprocessing."""
import gzip
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import joblib
import numpy as np
import pytest

from core.config import DATASETS, DataConfig
from core.data import DATASET_LABELS, SYSTEM_FASHION_DIR, describe_dataset, load_dataset
from core.errors import ConfigError, DataFormatError, DataUnavailableError
from core.idx import IDX_STEMS, read_idx, write_idx, write_mnist_subset
from core.preprocess import pixel_rescaler, preprocessing_spec

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mnist_folder(tmp_path_factory, mnist_t10k_dir) -> Path:
    """A four-file MNIST folder: the first 600 t10k images as train, the next 200 as test."""
    out = tmp_path_factory.mktemp("mnist")
    write_mnist_subset(mnist_t10k_dir, out, 600, 200)
    return out


@pytest.fixture
def no_mnist_env(monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)


def _fake_keras(monkeypatch, load_data):
    """Stand-in keras.datasets.mnist (real keras takes seconds to import)."""
    for name in ("keras", "keras.datasets"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    module = types.ModuleType("keras.datasets.mnist")
    module.load_data = load_data
    monkeypatch.setitem(sys.modules, "keras.datasets.mnist", module)


def _all_arrays(ds):
    return [ds.x_train, ds.y_train, ds.x_val, ds.y_val, ds.x_test, ds.y_test]


def _fake_images(n, seed, labels=None):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    y = np.arange(n, dtype=np.uint8) % 10 if labels is None else labels
    return x, y


# --- synthetic ---------------------------------------------------------------------


def test_synthetic_shapes_and_types():
    ds = load_dataset(DataConfig())
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (700, 150, 150)
    assert ds.x_train.shape == (700, 20) and ds.input_dim == 20 and ds.num_classes == 2
    assert all(a.dtype == np.float32 for a in _all_arrays(ds)[::2])
    assert all(a.dtype == np.int64 for a in _all_arrays(ds)[1::2])
    assert ds.task == "binary" and ds.image_shape is None and len(ds.class_names) == 2
    assert ds.feature_names[0] == "feature_1" and len(ds.feature_names) == 20
    assert set(np.unique(ds.y_train)) == {0, 1}
    assert "make_classification" in ds.source


def test_synthetic_split_is_stratified():
    ds = load_dataset(DataConfig(n_samples=2000, flip_y=0.0))
    shares = [y.mean() for y in (ds.y_train, ds.y_val, ds.y_test)]
    assert max(shares) - min(shares) < 0.01


def test_synthetic_scaler_fitted_on_train_only():
    ds = load_dataset(DataConfig(n_samples=600, n_features=5, n_informative=3))
    assert np.abs(ds.x_train.mean(axis=0)).max() < 1e-5
    assert np.allclose(ds.x_train.std(axis=0), 1, atol=1e-4)
    assert np.abs(ds.x_test.mean(axis=0)).max() > 1e-3  # test rows did not take part in fitting
    assert ds.preprocessing.n_samples_seen_ == len(ds.y_train)
    raw_test = ds.x_test * ds.preprocessing.scale_ + ds.preprocessing.mean_
    np.testing.assert_allclose(ds.preprocessing.transform(raw_test), ds.x_test, atol=1e-5)


def test_synthetic_is_deterministic_per_seed():
    a, b = load_dataset(DataConfig(seed=3)), load_dataset(DataConfig(seed=3))
    for left, right in zip(_all_arrays(a), _all_arrays(b)):
        np.testing.assert_array_equal(left, right)
    c = load_dataset(DataConfig(seed=4))
    assert not np.array_equal(a.x_train, c.x_train)


@pytest.mark.parametrize(
    "settings",
    [
        dict(n_samples=100, n_features=2, n_informative=1),
        dict(n_samples=100, n_features=2, n_informative=2, flip_y=0.5, class_sep=0.1),
        dict(n_samples=100, n_features=3, n_informative=1, flip_y=0.5),
        dict(n_samples=150, n_features=100, n_informative=100, class_sep=5.0),
        dict(n_samples=101, n_features=100, n_informative=1, flip_y=0.0),
    ],
)
def test_synthetic_extreme_but_valid_settings_load(settings):
    ds = load_dataset(DataConfig(**settings))
    assert ds.input_dim == settings["n_features"]
    assert len(ds.y_train) + len(ds.y_val) + len(ds.y_test) == settings["n_samples"]
    assert {0, 1} == set(np.unique(ds.y_test))


def test_arrays_are_read_only():
    ds = load_dataset(DataConfig(n_samples=200))
    for array in _all_arrays(ds):
        assert not array.flags.writeable
    with pytest.raises(ValueError):
        ds.x_train[0, 0] = 1.0


# --- digits ------------------------------------------------------------------------


def test_digits():
    ds = load_dataset(DataConfig(dataset="digits"))
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (1257, 270, 270)
    assert ds.image_shape == (8, 8) and ds.input_dim == 64 and ds.num_classes == 10
    assert ds.x_train.dtype == np.float32 and ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert ds.feature_names[0] == "pixel_0" and ds.class_names[3] == "3"
    assert np.bincount(ds.y_test).min() >= 26  # stratified: ~27 of each digit
    assert preprocessing_spec(ds.preprocessing, 64) == {"kind": "rescale", "factor": 0.0625, "n_features": 64}


def test_digits_train_size():
    ds = load_dataset(DataConfig(dataset="digits", train_size=500, seed=1))
    assert len(ds.y_train) == 500 and len(ds.y_test) == 270
    assert np.bincount(ds.y_train).min() >= 48
    with pytest.raises(ConfigError, match="1,257") as info:
        load_dataset(DataConfig(dataset="digits", train_size=2000))
    assert info.value.field == "train_size"


# --- mnist from local files ----------------------------------------------------------


def test_mnist_from_idx_folder(mnist_folder, mnist_t10k_dir, no_mnist_env):
    ds = load_dataset(DataConfig(dataset="mnist", data_dir=str(mnist_folder)))
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (480, 120, 200)
    assert ds.x_train.shape == (480, 784) and ds.x_train.dtype == np.float32
    assert ds.image_shape == (28, 28) and ds.class_names == tuple("0123456789") and ds.task == "multiclass"
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() == 1.0
    official = read_idx(mnist_t10k_dir / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_allclose(ds.x_test[0], official[600].reshape(-1) / 255, atol=1e-6)
    assert str(mnist_folder) in ds.source
    assert all(not a.flags.writeable for a in _all_arrays(ds))


def test_mnist_from_env_var_with_train_size(mnist_folder, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_folder))
    config = DataConfig(dataset="mnist", train_size=300, validation_fraction=0.1, seed=5)
    ds = load_dataset(config)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (270, 30, 200)
    assert np.bincount(ds.y_val, minlength=10).min() >= 2  # stratified: every digit in validation
    np.testing.assert_array_equal(load_dataset(config).x_train, ds.x_train)
    with pytest.raises(ConfigError, match="only 600") as info:
        load_dataset(DataConfig(dataset="mnist", train_size=1000))
    assert info.value.field == "train_size"


@pytest.mark.parametrize("as_file", [False, True])
def test_mnist_from_npz(tmp_path, no_mnist_env, as_file):
    x_train, y_train = _fake_images(150, 0)
    x_test, y_test = _fake_images(40, 1)
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    data_dir = tmp_path / "mnist.npz" if as_file else tmp_path
    ds = load_dataset(DataConfig(dataset="mnist", data_dir=str(data_dir)))
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (120, 30, 40)
    np.testing.assert_allclose(ds.x_test, x_test.reshape(40, -1) / 255, atol=1e-6)
    np.testing.assert_array_equal(ds.y_test, y_test)


def test_npz_missing_key(tmp_path, no_mnist_env):
    x, y = _fake_images(20, 0)
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=y, x_test=x)
    with pytest.raises(DataFormatError, match="missing arrays y_test"):
        load_dataset(DataConfig(dataset="mnist", data_dir=str(tmp_path)))


def test_npz_that_is_not_an_archive(tmp_path, no_mnist_env):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(DataFormatError, match="not a readable .npz"):
        load_dataset(DataConfig(dataset="mnist", data_dir=str(tmp_path)))


def _idx_folder(folder, train, test):
    for stem, array in zip(IDX_STEMS.values(), [*train, *test]):
        write_idx(folder / stem, array)
    return str(folder)


def test_images_not_28x28(tmp_path, no_mnist_env):
    small = np.zeros((30, 20, 20), dtype=np.uint8), np.arange(30, dtype=np.uint8) % 10
    folder = _idx_folder(tmp_path, small, small)
    with pytest.raises(DataFormatError, match=r"\(30, 20, 20\), expected \(n, 28, 28\)"):
        load_dataset(DataConfig(dataset="mnist", data_dir=folder))


def test_labels_out_of_range(tmp_path, no_mnist_env):
    train = _fake_images(30, 0, labels=np.full(30, 12, dtype=np.uint8))
    folder = _idx_folder(tmp_path, train, _fake_images(10, 1))
    with pytest.raises(DataFormatError, match="0-9"):
        load_dataset(DataConfig(dataset="mnist", data_dir=folder))


def test_label_count_mismatch(tmp_path, no_mnist_env):
    x, _ = _fake_images(30, 0)
    folder = _idx_folder(tmp_path, (x, np.zeros(29, dtype=np.uint8)), _fake_images(10, 1))
    with pytest.raises(DataFormatError, match="29 labels for 30 images"):
        load_dataset(DataConfig(dataset="mnist", data_dir=folder))


def test_truncated_file_in_data_dir(mnist_folder, tmp_path, no_mnist_env):
    for path in mnist_folder.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(gzip.decompress(labels.read_bytes())[:-1]))
    with pytest.raises(DataFormatError, match="truncated") as info:
        load_dataset(DataConfig(dataset="mnist", data_dir=str(tmp_path)))
    assert str(labels) in str(info.value)


# --- mnist unavailable ---------------------------------------------------------------

THREE_WAYS = ("--data-dir", "MNIST_DIR", "internet")


def test_offline_without_local_files(monkeypatch, no_mnist_env):
    def failed_download():
        raise OSError("URL fetch failure on https://storage.googleapis.com/mnist.npz: Name or service not known")

    _fake_keras(monkeypatch, failed_download)
    with pytest.raises(DataUnavailableError) as info:
        load_dataset(DataConfig(dataset="mnist"))
    message = str(info.value)
    assert all(way in message for way in THREE_WAYS), message
    assert "Name or service not known" in message and "\n" not in message


def test_keras_download_is_used_when_nothing_local(monkeypatch, no_mnist_env):
    train, test = _fake_images(100, 0), _fake_images(20, 1)
    _fake_keras(monkeypatch, lambda: (train, test))
    ds = load_dataset(DataConfig(dataset="mnist"))
    assert len(ds.y_test) == 20 and "keras" in ds.source


@pytest.mark.parametrize("setup", ["missing", "empty"])
def test_data_dir_without_data(tmp_path, no_mnist_env, monkeypatch, setup):
    _fake_keras(monkeypatch, lambda: pytest.fail("must not download when data_dir is given"))
    folder = tmp_path / "absent" if setup == "missing" else tmp_path
    with pytest.raises(DataUnavailableError) as info:
        load_dataset(DataConfig(dataset="mnist", data_dir=str(folder)))
    message = str(info.value)
    assert all(way in message for way in THREE_WAYS) and str(folder) in message


def test_module_import_is_light():
    code = "import sys, core.data; print(sorted({'keras', 'tensorflow', 'streamlit', 'plotly'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- fashion-mnist -------------------------------------------------------------------


@pytest.mark.skipif(
    not Path(SYSTEM_FASHION_DIR).is_dir(),
    reason=f"{SYSTEM_FASHION_DIR} absent (apt-get install dataset-fashion-mnist)",
)
def test_fashion_mnist_from_debian_folder(no_mnist_env):
    ds = load_dataset(DataConfig(dataset="fashion_mnist", validation_fraction=0.1))
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (54_000, 6_000, 10_000)
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert ds.image_shape == (28, 28) and ds.x_test.max() == 1.0
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert SYSTEM_FASHION_DIR in ds.source


# --- descriptions and portable preprocessing ----------------------------------------


def test_every_dataset_has_a_label_and_description():
    for name in DATASETS:
        assert DATASET_LABELS[name] and describe_dataset(name).endswith(".")


def _apply_spec(spec, raw):
    raw = np.asarray(raw, dtype=np.float64)
    if spec["kind"] == "standardize":
        return ((raw - np.array(spec["mean"])) / np.array(spec["scale"])).astype(np.float32)
    return (raw * np.float32(spec["factor"])).astype(np.float32)


def test_preprocessing_loads_without_core_and_matches_json(tmp_path):
    synthetic = load_dataset(DataConfig(n_samples=200, n_features=4))
    raw = np.random.default_rng(0).integers(0, 256, size=(3, 4)).astype(np.float64)
    cases = {"scaler": synthetic.preprocessing, "pixels": pixel_rescaler(), "digits": pixel_rescaler(1 / 16)}
    for name, transformer in cases.items():
        joblib.dump(transformer, tmp_path / f"{name}.joblib")
        spec = json.loads(json.dumps(preprocessing_spec(transformer, 4)))
        np.testing.assert_allclose(_apply_spec(spec, raw), transformer.transform(raw), rtol=1e-6)
    code = (
        "import importlib.util, json, sys, joblib, numpy as np\n"
        "assert importlib.util.find_spec('core') is None, 'core must not be importable here'\n"
        "raw = np.array(json.loads(sys.argv[1]))\n"
        "print(json.dumps({n: joblib.load(n + '.joblib').transform(raw).tolist() for n in sys.argv[2:]}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-I", "-c", code, json.dumps(raw.tolist()), *cases],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout)
    for name, transformer in cases.items():
        np.testing.assert_allclose(loaded[name], transformer.transform(raw), rtol=1e-6)
    assert np.asarray(pixel_rescaler().transform(raw)).dtype == np.float32
