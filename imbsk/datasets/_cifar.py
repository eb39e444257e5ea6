"""CIFAR-10: the official python release (read without running pickled code) or an image-folder copy."""

import codecs
import hashlib
import http.client
import math
import numbers
import os
import pickle
import re
import shutil
import tarfile
import tempfile
import time
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

# A socket that stays silent this long ends the download even when the overall deadline is further away.
_READ_TIMEOUT = 60.0
# Small reads (read1 returns what has arrived) let the overall deadline be checked often, even when the
# server trickles bytes.
_READ_SIZE = 1 << 16

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


def _integer_labels(labels, path):
    """Return ``labels`` as int64, refusing anything a cast would silently change (3.7 -> 3, True -> 1)."""
    try:
        arr = np.asarray(labels)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DatasetFileError(f"CIFAR batch file {path}: 'labels' is not a list of ints.") from exc
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            value = arr.ravel()[np.flatnonzero(bad.ravel())[0]].item()
            raise DatasetFileError(
                f"CIFAR batch file {path}: 'labels' must be integers; got the non-integral value {value!r}."
            )
        # Out-of-range values are refused just below; clipping first keeps the cast from overflowing.
        arr = arr.clip(-1, 10)
    elif arr.dtype.kind not in "iu":
        raise DatasetFileError(
            f"CIFAR batch file {path}: 'labels' is not a list of ints (got values of dtype {arr.dtype})."
        )
    return arr.astype(np.int64)


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
    labels = _integer_labels(labels, path)
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
    # Checked first: with a stray file in the way, the folder could never be put in place, and every
    # call would extract the whole archive only to throw it away.
    _refuse_blocked(Path(root) / _BATCHES_DIR, True, f"extracting {archive}")
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
        if not os.path.lexists(target):
            # Renaming the finished folder into place means an interrupted extraction never leaves a
            # half-filled cifar-10-batches-py/ behind for the next call to trust.
            os.replace(extracted, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _DeadlineError(TimeoutError):
    pass


def _download(url, dest, md5, timeout):
    """Fetch ``url`` to ``dest`` within ``timeout`` seconds, checking its MD5 before it gets its final name.

    The bytes go to a hidden temporary file beside ``dest`` (never an existing file), which is removed
    on any failure, Ctrl-C included.
    """
    deadline = time.monotonic() + timeout
    try:
        fd, part = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise OSError(f"Cannot download into {str(dest.parent)!r}: {exc}") from exc
    part = Path(part)
    digest = hashlib.md5(usedforsecurity=False)
    read_timeout = min(_READ_TIMEOUT, timeout)
    try:
        with os.fdopen(fd, "wb") as f:
            try:
                with urllib.request.urlopen(url, timeout=read_timeout) as response:
                    read = getattr(response, "read1", None) or response.read
                    while chunk := read(_READ_SIZE):
                        digest.update(chunk)
                        f.write(chunk)
                        if time.monotonic() > deadline:
                            raise _DeadlineError(f"{f.tell()} bytes received in {timeout} s")
                    headers = getattr(response, "headers", None)
                    length = headers.get("Content-Length") if headers is not None else None
                # read1 reports a connection closed early as a normal end; without an MD5 to check, the
                # announced length is what shows that the archive is cut short.
                if length is not None and length.isdigit() and f.tell() < int(length):
                    raise OSError(f"the connection closed after {f.tell()} of {int(length)} bytes")
            except TimeoutError as exc:
                why = str(exc) if isinstance(exc, _DeadlineError) else f"the server sent nothing for {read_timeout} s"
                raise TimeoutError(
                    f"Downloading {url} did not finish within timeout={timeout} s ({why}); pass a larger "
                    "timeout, or put the archive into the data folder yourself."
                ) from exc
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                raise OSError(f"Downloading {url} failed: {type(exc).__name__}: {exc}") from exc
        if md5 is not None and digest.hexdigest() != md5.lower():
            raise DatasetFileError(f"Checksum mismatch for {url}: expected MD5 {md5}, got {digest.hexdigest()}.")
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _check_download_args(download, url, md5, timeout):
    if not isinstance(download, bool | np.bool_):
        raise ValueError(f"download must be True or False; got {download!r}.")
    if not isinstance(url, str) or not url:
        raise ValueError(f"url must be a non-empty string; got {url!r}.")
    # Checked before anything is fetched: a mistyped checksum would otherwise surface only after a
    # complete download, as a mismatch.
    if md5 is not None and not (isinstance(md5, str) and re.fullmatch(r"[0-9a-fA-F]{32}", md5)):
        raise ValueError(f"md5 must be None or 32 hexadecimal digits; got {md5!r}.")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, numbers.Real)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ValueError(f"timeout must be a positive, finite number of seconds; got {timeout!r}.")


def _refuse_blocked(path, want_dir, what):
    """Raise if something of the wrong kind sits at ``path``; it is the user's, so it is never removed."""
    if os.path.lexists(path) and not (path.is_dir() if want_dir else path.is_file()):
        kind = "a folder" if want_dir else "a regular file"
        raise FileExistsError(
            f"{str(path)!r} is in the way: {what} needs it to be {kind} or absent. Move or rename it."
        )


def _find_batches(root):
    if (root / _BATCHES_DIR).is_dir():
        return root / _BATCHES_DIR
    if (root / "data_batch_1").is_file() or (root / "test_batch").is_file():
        return root
    return None


def _find_jpeg(root, split):
    """Return the split's image folder (or None) and a note naming a split folder found missing."""
    other = "test" if split == "train" else "train"
    note = None
    for base in (root / _JPEG_DIR, root):
        has_split, has_other = (base / split).is_dir(), (base / other).is_dir()
        if has_split and has_other:
            return base / split, None
        if note is None and has_split != has_other:
            found, missing = (base / split, base / other) if has_split else (base / other, base / split)
            note = f"{str(missing)!r} is missing beside {str(found)!r}; the image-folder layout needs both"
    return None, note


def load_cifar10(
    root, split="train", classes=None, download=False, *, url=CIFAR10_URL, md5=CIFAR10_MD5, timeout=3600.0
):
    """Load CIFAR-10, or a subset of its classes, as uint8 images.

    ``root`` is searched, in this order, for:

    1. ``cifar-10-batches-py/`` (the official python release, as torchvision reads it), or the batch
       files themselves;
    2. ``cifar-10-python.tar.gz``, which is extracted into ``root`` on first use;
    3. ``cifar10-jpeg/{train,test}/<class>/`` image folders (or ``root/{train,test}/<class>/``);
    4. ``cifar10-jpeg.tar.gz``, read directly without extracting;
    5. with ``download=True``, the archive at ``url``, checked against ``md5`` and extracted. The
       archive is written under a temporary name and renamed only once complete and checked; on any
       failure or interruption the partial file is removed.

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
        Expected MD5 of the downloaded archive (32 hexadecimal digits); ``None`` skips the check.
    timeout : float, default=3600.0
        Deadline in seconds for the whole download (the official archive is about 170 MB). The download
        also ends when the server sends nothing for ``min(60, timeout)`` seconds. Only used when
        downloading.

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
        If no data is found in ``root`` and ``download`` is False; the message names a split folder
        that is missing.
    FileExistsError
        If a file (not a folder) named ``cifar-10-batches-py`` sits where the archive must be
        extracted, or a folder named ``cifar-10-python.tar.gz`` where it must be downloaded. Nothing
        is removed; the message names the path.
    NotADirectoryError
        If ``root`` is an existing file.
    DatasetFileError
        If a file is truncated, corrupt, fails its checksum, is an unsafe archive or holds labels
        that are not integers; the message names the file. :class:`UnsafePickleError` (a subclass)
        for a pickle that tries to run code.
    TimeoutError
        If the download does not finish within ``timeout`` seconds.
    OSError
        If the download fails for another reason; the message names the URL.
    ValueError
        If ``split``, ``classes``, ``download``, ``url``, ``md5`` or ``timeout`` is invalid.

    Examples
    --------
    >>> from imbsk.datasets import load_cifar10
    >>> X, y = load_cifar10("data/", split="train", classes=["cat", "dog"])  # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]  # doctest: +SKIP
    ((10000, 3, 32, 32), dtype('uint8'), array([1, 0, 0, 1, 0]))
    """
    if not isinstance(root, str | os.PathLike):
        raise TypeError(f"root must be a folder path (str or path-like); got {type(root).__name__} {root!r}.")
    if not isinstance(split, str) or split not in _SPLIT_FILES:
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}.")
    wanted = _check_classes(classes)
    _check_download_args(download, url, md5, timeout)
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"CIFAR-10 root {str(root)!r} is a file, not a folder.")
    if not root.is_dir() and not download:
        raise FileNotFoundError(f"CIFAR-10 root {str(root)!r} does not exist or is not a directory.")

    batches = _find_batches(root)
    if batches is None and (root / _ARCHIVE).is_file():
        _extract(root / _ARCHIVE, root)
        batches = _find_batches(root)
    if batches is None:
        names = [CIFAR10_CLASSES[i] for i in wanted]
        jpeg, note = _find_jpeg(root, split)
        if jpeg is not None:
            return load_image_folder(jpeg, classes=names)
        if (root / _JPEG_ARCHIVE).is_file():
            return _load_image_archive(root / _JPEG_ARCHIVE, f"{_JPEG_DIR}/{split}", classes=names)
    if batches is None and download:
        root.mkdir(parents=True, exist_ok=True)
        # Both checked before the download, which is the slow part.
        _refuse_blocked(root / _ARCHIVE, False, f"downloading {url}")
        _refuse_blocked(root / _BATCHES_DIR, True, f"extracting {_ARCHIVE}")
        _download(url, root / _ARCHIVE, md5, timeout)
        _extract(root / _ARCHIVE, root)
        batches = _find_batches(root)
    if batches is None:
        found = f": {note}." if note else "."
        raise FileNotFoundError(
            f"No CIFAR-10 {split} data in {str(root)!r}{found} Expected {_BATCHES_DIR}/, {_ARCHIVE}, "
            f"{_JPEG_DIR}/{{train,test}}/ or {_JPEG_ARCHIVE}. Pass download=True to fetch the official archive."
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

