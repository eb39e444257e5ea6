"""CIFAR-10: the official python release (read without running pickled code) or an image-folder copy."""

import codecs
import hashlib
import numbers
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from ._image_folder import DatasetFileError, _load_image_archive, load_image_folder

try:
    from numpy._core.multiarray import _reconstruct
    from numpy._core.numeric import _frombuffer
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct
    from numpy.core.numeric import _frombuffer

__all__ = ["CIFAR10_CLASSES", "CIFAR10_MD5", "CIFAR10_URL", "UnsafePickleError", "load_cifar10"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"

_BATCHES_DIR = "cifar-10-batches-py"
_ARCHIVE = "cifar-10-python.tar.gz"
_JPEG_DIR = "cifar10-jpeg"
_JPEG_ARCHIVE = "cifar10-jpeg.tar.gz"
_SPLIT_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}

# The official batches hold only dicts, lists, str/bytes, ints and numpy arrays; arrays are the only
# objects rebuilt through globals. numpy 2 pickles name the private module ``numpy._core``. None of these
# callables can do more than allocate an array.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # Protocol-5 pickles written by numpy rebuild arrays from a byte buffer instead.
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    # Python 3 writes bytes as _codecs.encode(str, "latin1") at protocols < 3; it only converts text.
    ("_codecs", "encode"): codecs.encode,
}


class UnsafePickleError(DatasetFileError):
    """A pickle asked to import something a CIFAR file never contains, so it was not loaded.

    Raised before the requested object is imported or called: nothing in the file has run.

    Examples
    --------
    >>> from imbsk.datasets import DatasetFileError, UnsafePickleError
    >>> issubclass(UnsafePickleError, DatasetFileError)
    True
    """


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, name):
        # latin1 maps the Python 2 str objects of the official files one byte to one character, which is
        # what numpy needs to rebuild arrays pickled by Python 2.
        super().__init__(file, encoding="latin1")
        self._name = name

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"Refusing to load {self._name}: it references {module}.{name}, which a CIFAR batch file "
                "never contains (only numpy arrays, dicts, lists, strings and numbers are allowed)."
            ) from None


def _safe_unpickle(path):
    path = str(path)
    try:
        with open(path, "rb") as f:
            return _RestrictedUnpickler(f, path).load()
    except (UnsafePickleError, OSError):
        raise
    except Exception as exc:
        # Truncated or garbled pickles surface as EOFError, UnpicklingError, ValueError, TypeError, ...
        raise DatasetFileError(f"Cannot read CIFAR batch file {path}: {type(exc).__name__}: {exc}") from exc


def _read_batch(path):
    """Return (data uint8 (n, 3072), labels int64 (n,)) from one official batch file, validated."""
    obj = _safe_unpickle(path)
    if not isinstance(obj, dict):
        raise DatasetFileError(f"CIFAR batch file {path} holds a {type(obj).__name__}, not a dict.")
    # Files written by Python 3 may use bytes keys; normalising accepts both.
    obj = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}
    data, labels = obj.get("data"), obj.get("labels")
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072):
        desc = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DatasetFileError(f"CIFAR batch file {path}: 'data' must be a uint8 array of shape (n, 3072); got {desc}.")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise DatasetFileError(f"CIFAR batch file {path}: 'labels' is not a list of ints.") from exc
    if labels.shape != (len(data),) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise DatasetFileError(
            f"CIFAR batch file {path}: 'labels' must hold {len(data)} ints in 0..9; got shape {labels.shape}."
        )
    return data, labels


def _check_classes(classes):
    """Return official indices of the requested classes, in the requested order."""
    if classes is None:
        return list(range(10))
    if isinstance(classes, str | bytes) or not hasattr(classes, "__iter__"):
        raise ValueError(f"classes must be None or a list of class names or indices; got {classes!r}.")
    out = []
    for c in classes:
        if isinstance(c, str) and c in CIFAR10_CLASSES:
            out.append(CIFAR10_CLASSES.index(c))
        elif isinstance(c, numbers.Integral) and not isinstance(c, bool) and 0 <= c <= 9:
            out.append(int(c))
        else:
            raise ValueError(
                f"classes must contain CIFAR-10 class names {list(CIFAR10_CLASSES)} or indices 0..9; got {c!r}."
            )
    if not out:
        raise ValueError("classes must not be empty; pass None to load all 10 classes.")
    if len(set(out)) != len(out):
        raise ValueError(f"classes must not name a class twice; got {list(classes)!r}.")
    return out


def _extract(archive, root):
    """Extract a tar archive into ``root`` with tarfile's "data" filter, all or nothing."""
    if not hasattr(tarfile, "data_filter"):
        raise RuntimeError("Safe archive extraction needs tarfile's 'data' filter (Python >= 3.10.12 / 3.11.4).")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=root))
    except OSError as exc:
        raise OSError(f"Cannot extract {archive}: {root} is not writable ({exc}).") from exc
    try:
        try:
            with tarfile.open(archive) as tar:
                # The "data" filter refuses absolute paths, "..", links that leave the folder and device
                # files, which is what makes an archive from the network safe to unpack.
                tar.extractall(tmp, filter="data")
        except tarfile.FilterError as exc:
            raise DatasetFileError(f"Refusing to extract {archive}: unsafe member: {exc}") from exc
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DatasetFileError(f"Cannot extract {archive}: {type(exc).__name__}: {exc}") from exc
        extracted = tmp / _BATCHES_DIR
        if not extracted.is_dir():
            raise DatasetFileError(f"Archive {archive} has no {_BATCHES_DIR}/ folder.")
        target = Path(root) / _BATCHES_DIR
        if not target.exists():
            # Renaming the finished folder into place means an interrupted extraction never leaves a
            # half-filled cifar-10-batches-py/ behind for the next call to trust.
            os.replace(extracted, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _download(url, dest, md5):
    """Fetch ``url`` to ``dest``, checking its MD5 before the file appears under its final name."""
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as f:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                f.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise OSError(f"Downloading {url} failed: {exc}") from exc
    if md5 is not None and digest.hexdigest() != md5.lower():
        part.unlink(missing_ok=True)
        raise DatasetFileError(f"Checksum mismatch for {url}: expected MD5 {md5}, got {digest.hexdigest()}.")
    os.replace(part, dest)


def _find_batches(root):
    if (root / _BATCHES_DIR).is_dir():
        return root / _BATCHES_DIR
    if (root / "data_batch_1").is_file() or (root / "test_batch").is_file():
        return root
    return None


def _find_jpeg(root, split):
    for base in (root / _JPEG_DIR, root):
        if (base / split).is_dir() and (base / ("test" if split == "train" else "train")).is_dir():
            return base / split
    return None


def load_cifar10(root, split="train", classes=None, download=False, *, url=CIFAR10_URL, md5=CIFAR10_MD5):
    """Load CIFAR-10, or a subset of its classes, as uint8 images.

    ``root`` is searched, in this order, for:

    1. ``cifar-10-batches-py/`` (the official python release, as torchvision reads it), or the batch
       files themselves;
    2. ``cifar-10-python.tar.gz``, which is extracted into ``root`` on first use;
    3. ``cifar10-jpeg/{train,test}/<class>/`` image folders (or ``root/{train,test}/<class>/``);
    4. ``cifar10-jpeg.tar.gz``, read directly without extracting;
    5. with ``download=True``, the archive at ``url``, checked against ``md5`` and extracted.

    The official batch files are pickles. They are read with an unpickler that only rebuilds dicts,
    lists, strings, numbers and numpy arrays, so a file crafted to run code raises
    :class:`UnsafePickleError` instead. Archives are extracted with tarfile's ``"data"`` filter.

    Parameters
    ----------
    root : str or path-like
        Folder holding the data in one of the layouts above.
    split : {"train", "test"}, default="train"
        50,000 training or 10,000 test images.
    classes : list of str or int, default=None
        Classes to keep, as names from :data:`CIFAR10_CLASSES` or official indices 0..9. Labels follow
        this order: ``classes[k]`` gets label ``k``. ``None`` keeps all 10 with the official labels.
    download : bool, default=False
        Download the official archive into ``root`` when no data is found there.
    url : str, default=CIFAR10_URL
        Where to download the archive from.
    md5 : str or None, default=CIFAR10_MD5
        Expected MD5 of the downloaded archive; ``None`` skips the check.

    Returns
    -------
    X : ndarray of shape (n_samples, 3, 32, 32), dtype uint8
        C-contiguous images, channels first.
    y : ndarray of shape (n_samples,), dtype int64
        Labels ``0 .. len(classes) - 1``. From the official files, images keep the files' order; from
        image folders, they are ordered by label, then file name.

    Raises
    ------
    FileNotFoundError
        If no data is found in ``root`` and ``download`` is False.
    DatasetFileError
        If a file is truncated, corrupt, fails its checksum or is an unsafe archive; the message
        names the file. :class:`UnsafePickleError` (a subclass) for a pickle that tries to run code.
    ValueError
        If ``split`` or ``classes`` is invalid.

    Examples
    --------
    >>> from imbsk.datasets import load_cifar10
    >>> X, y = load_cifar10("data/", split="train", classes=["cat", "dog"])  # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]  # doctest: +SKIP
    ((10000, 3, 32, 32), dtype('uint8'), array([1, 0, 0, 1, 0]))
    """
    if split not in _SPLIT_FILES:
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}.")
    wanted = _check_classes(classes)
    root = Path(root)
    if not root.is_dir() and not download:
        raise FileNotFoundError(f"CIFAR-10 root {str(root)!r} does not exist or is not a directory.")

    batches = _find_batches(root)
    if batches is None and (root / _ARCHIVE).is_file():
        _extract(root / _ARCHIVE, root)
        batches = _find_batches(root)
    if batches is None:
        names = [CIFAR10_CLASSES[i] for i in wanted]
        jpeg = _find_jpeg(root, split)
        if jpeg is not None:
            return load_image_folder(jpeg, classes=names)
        if (root / _JPEG_ARCHIVE).is_file():
            return _load_image_archive(root / _JPEG_ARCHIVE, f"{_JPEG_DIR}/{split}", classes=names)
    if batches is None and download:
        root.mkdir(parents=True, exist_ok=True)
        _download(url, root / _ARCHIVE, md5)
        _extract(root / _ARCHIVE, root)
        batches = _find_batches(root)
    if batches is None:
        raise FileNotFoundError(
            f"No CIFAR-10 data in {str(root)!r}: expected {_BATCHES_DIR}/, {_ARCHIVE}, {_JPEG_DIR}/ or "
            f"{_JPEG_ARCHIVE}. Pass download=True to fetch the official archive."
        )

    lookup = np.full(10, -1, dtype=np.int64)
    lookup[wanted] = np.arange(len(wanted))
    xs, ys = [], []
    for fname in _SPLIT_FILES[split]:
        path = batches / fname
        if not path.is_file():
            raise FileNotFoundError(f"CIFAR-10 batch file {str(path)!r} is missing.")
        data, labels = _read_batch(path)
        keep = lookup[labels] >= 0
        xs.append(data[keep])
        ys.append(lookup[labels[keep]])
    X = np.concatenate(xs).reshape(-1, 3, 32, 32)
    return np.ascontiguousarray(X), np.concatenate(ys)

