"""IDX reading/writing: round trips, damaged files, the four-file set, the real t10k files."""
import gzip
import hashlib
import struct

import numpy as np
import pytest

from core.errors import ConfigError, DataFormatError, DataUnavailableError
from core.idx import IDX_STEMS, find_idx_set, read_idx, write_idx, write_mnist_subset

T10K_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


def _images(n=5, h=4, w=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w), dtype=np.uint8)


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_round_trip(tmp_path, name):
    array = _images()
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.uint8 and back.shape == (5, 4, 3)
    np.testing.assert_array_equal(back, array)
    assert (tmp_path / name).read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\x00\x00")
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left behind


def test_gzip_is_detected_by_content_not_name(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "labels.gz", labels)
    (tmp_path / "labels.gz").rename(tmp_path / "labels-idx1-ubyte")
    np.testing.assert_array_equal(read_idx(tmp_path / "labels-idx1-ubyte"), labels)


def test_header_layout_matches_the_format(tmp_path):
    write_idx(tmp_path / "x", _images(n=2, h=28, w=28))
    raw = (tmp_path / "x").read_bytes()
    assert raw[:4] == b"\x00\x00\x08\x03"
    assert struct.unpack(">3I", raw[4:16]) == (2, 28, 28)
    assert len(raw) == 16 + 2 * 28 * 28


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_file_names_file_and_sizes(tmp_path, gz):
    write_idx(tmp_path / "x", _images())
    raw = (tmp_path / "x").read_bytes()[:-7]
    path = tmp_path / ("cut.gz" if gz else "cut")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(DataFormatError, match="truncated") as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and "60 data bytes" in message and "found 53" in message
    assert "\n" not in message


def test_extra_bytes_are_rejected(tmp_path):
    write_idx(tmp_path / "x", _images())
    (tmp_path / "x").write_bytes((tmp_path / "x").read_bytes() + b"\x00")
    with pytest.raises(DataFormatError, match="extra bytes"):
        read_idx(tmp_path / "x")


def test_truncated_gzip_stream(tmp_path):
    write_idx(tmp_path / "x.gz", _images(n=200))
    raw = (tmp_path / "x.gz").read_bytes()
    (tmp_path / "x.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataFormatError, match="gzip"):
        read_idx(tmp_path / "x.gz")


@pytest.mark.parametrize(
    "content, match",
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "not an IDX file"),
        (b"PK\x03\x04 whatever", "not an IDX file"),
        (b"", "not an IDX file"),
        (b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00\x00\x00\x00", "type code 0x0d"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01", "3 dimensions"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
    ],
)
def test_bad_headers(tmp_path, content, match):
    (tmp_path / "bad").write_bytes(content)
    with pytest.raises(DataFormatError, match=match):
        read_idx(tmp_path / "bad")


def test_mismatched_dims(tmp_path):
    # header says 3 images of 2x2 (12 bytes) but 2 images' worth follow
    (tmp_path / "x").write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 3, 2, 2) + bytes(8))
    with pytest.raises(DataFormatError, match=r"3x2x2 needs 12 data bytes, found 8"):
        read_idx(tmp_path / "x")


def test_missing_file(tmp_path):
    with pytest.raises(DataUnavailableError, match="cannot read"):
        read_idx(tmp_path / "nope")


def test_write_rejects_non_uint8(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_idx(tmp_path / "x", np.zeros((2, 2), dtype=np.float32))
    assert not list(tmp_path.iterdir())


def _write_set(folder, gz=(True, True, True, True), dotted=False):
    folder.mkdir(exist_ok=True)
    for (key, stem), use_gz in zip(IDX_STEMS.items(), gz):
        name = (stem.replace("-idx", ".idx") if dotted else stem) + (".gz" if use_gz else "")
        write_idx(folder / name, _images(n=3) if key.endswith("images") else np.arange(3, dtype=np.uint8))


@pytest.mark.parametrize("gz", [(True,) * 4, (False,) * 4, (True, False, False, True)])
def test_find_idx_set(tmp_path, gz):
    _write_set(tmp_path, gz)
    found = find_idx_set(tmp_path)
    assert set(found) == {"train_images", "train_labels", "test_images", "test_labels"}
    assert found["test_labels"].name == "t10k-labels-idx1-ubyte" + (".gz" if gz[3] else "")


def test_find_idx_set_dotted_names(tmp_path):
    _write_set(tmp_path, dotted=True)
    assert find_idx_set(tmp_path)["train_images"].name == "train-images.idx3-ubyte.gz"


def test_find_idx_set_incomplete_or_missing(tmp_path):
    _write_set(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    assert find_idx_set(tmp_path) is None
    assert find_idx_set(tmp_path / "absent") is None


def test_write_mnist_subset_from_test_pair_only(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    images, labels = _images(n=10), np.arange(10, dtype=np.uint8)
    write_idx(source / "t10k-images-idx3-ubyte.gz", images)
    write_idx(source / "t10k-labels-idx1-ubyte", labels)
    files = write_mnist_subset(source, tmp_path / "out", 6, 3)
    assert files == find_idx_set(tmp_path / "out")
    np.testing.assert_array_equal(read_idx(files["train_images"]), images[:6])
    np.testing.assert_array_equal(read_idx(files["test_labels"]), labels[6:9])
    with pytest.raises(ConfigError, match=r"n_train: 11 t10k.*only 10") as info:
        write_mnist_subset(source, tmp_path / "out2", 8, 3)
    assert info.value.field == "n_train"
    assert not (tmp_path / "out2").exists()


def test_write_mnist_subset_uses_train_pair_when_present(tmp_path):
    _write_set(tmp_path / "src")
    write_idx(tmp_path / "src" / "train-labels-idx1-ubyte.gz", np.full(3, 7, dtype=np.uint8))
    files = write_mnist_subset(tmp_path / "src", tmp_path / "out", 3, 2)
    np.testing.assert_array_equal(read_idx(files["train_labels"]), [7, 7, 7])
    np.testing.assert_array_equal(read_idx(files["test_labels"]), [0, 1])
    with pytest.raises(ConfigError, match="n_test"):
        write_mnist_subset(tmp_path / "src", tmp_path / "out", 3, 4)


def test_write_mnist_subset_needs_a_test_pair(tmp_path):
    with pytest.raises(DataUnavailableError, match="t10k-images-idx3-ubyte"):
        write_mnist_subset(tmp_path, tmp_path / "out", 1, 1)


def test_write_mnist_subset_mismatched_pair(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", _images(n=4))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(5, dtype=np.uint8))
    with pytest.raises(DataFormatError, match="5 labels for 4 images"):
        write_mnist_subset(tmp_path, tmp_path / "out", 1, 1)


def test_real_t10k_files(mnist_t10k_dir):
    for name, md5 in T10K_MD5.items():
        assert hashlib.md5((mnist_t10k_dir / name).read_bytes()).hexdigest() == md5, name
    images = read_idx(mnist_t10k_dir / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(mnist_t10k_dir / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and labels.max() == 9
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert images.max() == 255 and images[0, :4].max() == 0  # white digits on a black border
