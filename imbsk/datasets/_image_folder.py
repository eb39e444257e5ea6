"""Load a folder of class sub-folders of images (torchvision's ``ImageFolder`` layout) as uint8 arrays."""

import hashlib
import io
import numbers
import os
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["DatasetFileError", "IMG_EXTENSIONS", "load_image_folder"]

IMG_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")

# Modes PIL reports for single-channel images (with or without alpha); everything else becomes RGB.
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})

# Modes PIL gives 16-bit gray PNGs (older Pillow versions say "I"). PIL's convert("L") clips their
# values at 255 instead of scaling them, which turns most pixels white.
_WIDE_GRAY_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})

# Bumped whenever the cached arrays could differ for the same files (decoding or conversion rules).
_CACHE_VERSION = 2

# Decoding a 32x32 JPEG takes ~0.2 ms; handing images to threads in chunks keeps the executor's
# per-task overhead small next to the work.
_CHUNK = 256


class DatasetFileError(ValueError):
    """A data set file is missing parts, corrupt, or not in the expected format.

    The message names the file. It subclasses :class:`ValueError`, so code that catches invalid
    input in general also catches it.

    Examples
    --------
    >>> from imbsk.datasets import DatasetFileError
    >>> issubclass(DatasetFileError, ValueError)
    True
    """


def _check_image_size(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
        size = (int(image_size), int(image_size))
    elif (
        isinstance(image_size, tuple | list)
        and len(image_size) == 2
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in image_size)
    ):
        size = (int(image_size[0]), int(image_size[1]))
    else:
        size = None
    if size is None or min(size) < 1:
        raise ValueError(
            f"image_size must be None, a positive int or a (height, width) pair of positive ints; got {image_size!r}."
        )
    return size


def _check_n_threads(n_threads):
    if n_threads is None:
        return os.cpu_count() or 1
    if isinstance(n_threads, numbers.Integral) and not isinstance(n_threads, bool) and n_threads >= 1:
        return int(n_threads)
    raise ValueError(f"n_threads must be None or a positive int; got {n_threads!r}.")


def _decode(source, name, image_size):
    """Decode one image to a (C, H, W) uint8 array, C being 1 (gray) or 3 (colour)."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
            mode = "L" if img.mode in _GRAY_MODES else "RGB"
            if img.mode in _WIDE_GRAY_MODES:
                # The high byte is the 8-bit value: it inverts the usual 8 -> 16 bit expansion v * 257.
                wide = np.clip(np.asarray(img), 0, 65535).astype(np.uint16)
                img = Image.fromarray((wide >> 8).astype(np.uint8))
            if img.mode != mode:
                img = img.convert(mode)
            if image_size is not None and img.size != image_size[::-1]:
                img = img.resize(image_size[::-1], Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
    except Exception as exc:
        # PIL signals corrupt or truncated data with many exception types (OSError, SyntaxError,
        # ValueError, DecompressionBombError, ...); all of them mean the same thing to the caller.
        raise DatasetFileError(f"Cannot decode image file {name}: {exc}") from exc
    if arr.ndim == 2:
        return arr[np.newaxis]
    # np.stack keeps the inputs' memory order, so each image is made channels-first in memory here.
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def _decode_chunk(chunk, image_size):
    return [_decode(source, name, image_size) for source, name in chunk]


def _decode_all(sources, names, image_size, n_threads):
    """Decode images in parallel (PIL releases the GIL while decoding) and stack them to (N, C, H, W)."""
    items = list(zip(sources, names, strict=True))
    chunks = [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
    if n_threads == 1 or len(chunks) <= 1:
        arrays = [a for chunk in chunks for a in _decode_chunk(chunk, image_size)]
    else:
        with ThreadPoolExecutor(max_workers=min(n_threads, len(chunks))) as pool:
            arrays = [a for part in pool.map(_decode_chunk, chunks, [image_size] * len(chunks)) for a in part]

    shapes = {a.shape[1:] for a in arrays}
    if len(shapes) > 1:
        first = arrays[0].shape[1:]
        other = next(i for i, a in enumerate(arrays) if a.shape[1:] != first)
        raise ValueError(
            f"Images have different sizes: {names[0]} is {first[0]}x{first[1]} (height x width) but "
            f"{names[other]} is {arrays[other].shape[1]}x{arrays[other].shape[2]}. Pass image_size=(height, width) "
            "to resize them all."
        )
    if any(a.shape[0] == 3 for a in arrays):
        # Repeating the gray channel is exactly PIL's L -> RGB conversion, so mixed folders end up as if
        # every image had been converted to RGB.
        arrays = [np.repeat(a, 3, axis=0) if a.shape[0] == 1 else a for a in arrays]
    return np.stack(arrays)


def _is_image(name):
    return name.lower().endswith(IMG_EXTENSIONS)


def _is_hidden(name):
    # Tool folders (.ipynb_checkpoints, .git) and macOS "._x.jpg" companions are not data; taken as a class
    # they would also shift every label after them.
    return name.startswith(".")


def _ancestors(real):
    """``real`` and every folder above it."""
    out = {real}
    while (parent := os.path.dirname(real)) != real:
        out.add(parent)
        real = parent
    return out


def _list_class(class_dir, root):
    """Image files below ``class_dir``, hidden entries skipped, every real folder walked at most once."""
    top = os.path.realpath(class_dir)
    # A link to a folder above the class (``cat/up -> ..``) or above the root would load every class
    # again under this one, and one to a folder already walked would load it twice or loop forever.
    above, seen = _ancestors(top) | _ancestors(os.path.realpath(root)), {top}
    files = []
    for dirpath, dirnames, filenames in os.walk(class_dir, followlinks=True):
        kept = []
        for d in sorted(dirnames):
            real = os.path.realpath(os.path.join(dirpath, d))
            if not _is_hidden(d) and real not in seen and real not in above:
                seen.add(real)
                kept.append(d)
        dirnames[:] = kept
        files.extend(os.path.join(dirpath, f) for f in sorted(filenames) if _is_image(f) and not _is_hidden(f))
    return files


def _scan_classes(root):
    """Return (class folder names, sorted; {skipped name: why}) for the sub-folders of ``root``."""
    above = _ancestors(os.path.realpath(root))
    available, skipped = [], {}
    for entry in os.scandir(root):
        if not entry.is_dir():
            continue
        if _is_hidden(entry.name):
            skipped[entry.name] = "hidden folders are not classes"
        elif os.path.realpath(entry.path) in above:
            skipped[entry.name] = f"it links to {os.path.realpath(entry.path)!r}, which holds every class"
        else:
            available.append(entry.name)
    return sorted(available), skipped


def _check_classes(classes, available, where, skipped=None):
    """Return the class names to load, in order; ``available`` is the sorted list found on disk."""
    if classes is None:
        if not available:
            raise FileNotFoundError(f"No class sub-folders found in {where}.")
        return list(available)
    if isinstance(classes, str | bytes) or not hasattr(classes, "__iter__"):
        raise ValueError(f"classes must be None or a list of class folder names; got {classes!r}.")
    classes = list(classes)
    if not classes:
        raise ValueError("classes must not be empty; pass None to load every class.")
    bad = [c for c in classes if not isinstance(c, str)]
    if bad:
        raise ValueError(f"classes must hold folder names (str); got {bad[0]!r} of type {type(bad[0]).__name__}.")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes must not repeat a name; got {classes!r}.")
    refused = {c: skipped[c] for c in classes if skipped and c in skipped}
    if refused:
        name, why = next(iter(refused.items()))
        raise ValueError(f"Class folder {name!r} in {where} cannot be loaded: {why}.")
    missing = [c for c in classes if c not in available]
    if missing:
        raise FileNotFoundError(f"Class folder(s) {missing!r} not found in {where}; available classes: {available!r}.")
    return classes


def _cache_key(root, classes, image_size, files):
    h = hashlib.sha256()
    h.update(repr((_CACHE_VERSION, str(root), classes, image_size)).encode())
    for class_files in files:
        h.update(b"\0class")
        for path in class_files:
            st = os.stat(path)
            h.update(f"{os.path.relpath(path, root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def _read_cache(path):
    try:
        with np.load(path, allow_pickle=False) as data:
            return data["X"], data["y"]
    except Exception:
        # A cache entry that cannot be read (interrupted write, disk full) is rebuilt, not reported.
        return None


def _write_cache(path, X, y):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, X=X, y=y)
        # Atomic rename: concurrent readers see either no entry or a complete one.
        os.replace(tmp, path)
    except BaseException:
        # A full disk or Ctrl-C must not leave a half-written file behind in the user's cache folder.
        tmp.unlink(missing_ok=True)
        raise


def _check_cache_dir(cache_dir):
    if cache_dir is None:
        return None
    if not isinstance(cache_dir, str | os.PathLike):
        raise ValueError(f"cache_dir must be None or a folder path; got {type(cache_dir).__name__} {cache_dir!r}.")
    cache_dir = Path(cache_dir)
    if cache_dir.exists() and not cache_dir.is_dir():
        raise NotADirectoryError(f"cache_dir {str(cache_dir)!r} is a file, not a folder.")
    return cache_dir


def load_image_folder(root, classes=None, image_size=None, *, n_threads=None, cache_dir=None):
    """Load images stored as ``root/<class>/<image>`` into a uint8 array.

    The layout is torchvision's ``ImageFolder``: one sub-folder per class, images with the extensions
    ``.png``, ``.jpg``, ``.jpeg`` or ``.bmp`` (any case) anywhere below it. Images are decoded in
    parallel threads.

    Hidden entries (names starting with ``"."``, such as ``.ipynb_checkpoints/`` or macOS ``._x.jpg``
    files) are skipped everywhere: they are neither classes nor images. Symbolic links are followed,
    except a link to a folder that is already loaded or that lies above the class folder (such as
    ``cat/up -> ..``), which would load images twice or loop forever; such a link is skipped. A class
    folder that links to ``root`` or above it is not a class.

    Parameters
    ----------
    root : str or path-like
        Folder holding one sub-folder per class.
    classes : list of str, default=None
        Class folders to load, in the order that defines the labels: ``classes[k]`` gets label ``k``.
        ``None`` loads every sub-folder, sorted by name.
    image_size : int or (int, int), default=None
        ``(height, width)`` (or one int for square images) to resize every image to, bilinearly. ``None``
        keeps the stored size and requires all images to have the same size.
    n_threads : int, default=None
        Number of decoding threads; ``None`` uses one per CPU.
    cache_dir : str or path-like, default=None
        If given, the decoded arrays are stored in this folder and reused on later calls as long as the
        same files (same relative paths, sizes and modification times) are loaded with the same
        ``classes`` and ``image_size``. ``None`` disables caching.

    Returns
    -------
    X : ndarray of shape (n_samples, n_channels, height, width), dtype uint8
        C-contiguous images. ``n_channels`` is 3 if any image has colour (palette, RGB, RGBA, CMYK,
        ...; alpha is dropped), else 1; gray images in a colour set have their channel repeated.
        16-bit gray images are scaled to 8 bits (their high byte: 65535 becomes 255).
    y : ndarray of shape (n_samples,), dtype int64
        Labels ``0 .. len(classes) - 1``. Images are ordered by label, then by path.

    Raises
    ------
    FileNotFoundError
        If ``root`` or a requested class folder does not exist, or a class folder holds no image.
    NotADirectoryError
        If ``cache_dir`` is an existing file.
    DatasetFileError
        If an image cannot be decoded; the message names the file.
    ValueError
        If the images differ in size and ``image_size`` is None, a requested class folder is hidden
        or links to ``root`` or above, or a parameter is invalid.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from PIL import Image
    >>> from imbsk.datasets import load_image_folder
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name, n in [("cat", 3), ("dog", 2)]:
    ...     (root / name).mkdir()
    ...     for i in range(n):
    ...         Image.new("RGB", (8, 6), (i, 0, 0)).save(root / name / f"{i}.png")
    >>> X, y = load_image_folder(root)
    >>> X.shape, X.dtype, y.tolist()
    ((5, 3, 6, 8), dtype('uint8'), [0, 0, 0, 1, 1])
    >>> X, y = load_image_folder(root, classes=["dog", "cat"], image_size=4)
    >>> X.shape, y.tolist()
    ((5, 3, 4, 4), [0, 0, 1, 1, 1])
    """
    image_size = _check_image_size(image_size)
    n_threads = _check_n_threads(n_threads)
    cache_dir = _check_cache_dir(cache_dir)
    if not isinstance(root, str | os.PathLike):
        raise TypeError(f"root must be a folder path (str or path-like); got {type(root).__name__} {root!r}.")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Image folder root {str(root)!r} does not exist or is not a directory.")
    available, skipped = _scan_classes(root)
    classes = _check_classes(classes, available, str(root), skipped)

    files = []
    for c in classes:
        class_files = _list_class(root / c, root)
        if not class_files:
            raise FileNotFoundError(f"No image files ({', '.join(IMG_EXTENSIONS)}) found in {str(root / c)!r}.")
        files.append(class_files)
    y = np.repeat(np.arange(len(classes), dtype=np.int64), [len(f) for f in files])
    flat = [p for class_files in files for p in class_files]

    cache_path = None
    if cache_dir is not None:
        key = _cache_key(root.resolve(), classes, image_size, files)
        cache_path = cache_dir / f"image_folder_{key}.npz"
        cached = _read_cache(cache_path) if cache_path.exists() else None
        if cached is not None and np.array_equal(cached[1], y):
            return cached

    X = _decode_all(flat, flat, image_size, n_threads)
    if cache_path is not None:
        _write_cache(cache_path, X, y)
    return X, y


def _load_image_archive(archive, prefix, classes=None, image_size=None, n_threads=None):
    """Load ``prefix/<class>/<image>`` members of a tar archive without extracting anything to disk.

    Member names are only parsed, never used as paths, so hostile names cannot write outside anything.
    Parameters and returns are as for :func:`load_image_folder`.
    """
    image_size = _check_image_size(image_size)
    n_threads = _check_n_threads(n_threads)
    prefix = prefix.strip("/") + "/"
    by_class = {}
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                if not (member.isfile() and member.name.startswith(prefix) and _is_image(member.name)):
                    continue
                cls, _, rest = member.name[len(prefix) :].partition("/")
                if not rest or any(_is_hidden(part) for part in member.name[len(prefix) :].split("/")):
                    continue
                by_class.setdefault(cls, []).append((member.name, tar.extractfile(member).read()))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetFileError(f"Cannot read archive {archive}: {exc}") from exc
    if not by_class:
        raise FileNotFoundError(f"Archive {archive} holds no images ({', '.join(IMG_EXTENSIONS)}) under {prefix}.")

    classes = _check_classes(classes, sorted(by_class), f"{archive}:{prefix}")
    members = [sorted(by_class[c]) for c in classes]
    y = np.repeat(np.arange(len(classes), dtype=np.int64), [len(m) for m in members])
    flat = [m for class_members in members for m in class_members]
    names = [f"{archive}:{name}" for name, _ in flat]
    X = _decode_all([data for _, data in flat], names, image_size, n_threads)
    return X, y
