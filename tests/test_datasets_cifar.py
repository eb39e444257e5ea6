import hashlib
import http.server
import io
import os
import pickle
import struct
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imbsk.datasets import CIFAR10_CLASSES, DatasetFileError, UnsafePickleError, load_cifar10
from imbsk.datasets._cifar import _safe_unpickle

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
N_TRAIN_PER_BATCH, N_TEST = 12, 20


class _Py2Pickler(pickle._Pickler):
    """Pickles the way the official CIFAR files were written: Python 2 str opcodes, numpy.core globals."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj):
        # Not memoized: short bytes objects are shared by the interpreter, and the memo asserts on that.
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)

    def save_str(self, obj):
        self.save_bytes(obj.encode("latin1"))

    def save_global(self, obj, name=None):
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + module.encode() + b"\n" + (name or obj.__qualname__).encode() + b"\n")
        self.memoize(obj)

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str
    dispatch[type] = save_global
    dispatch[type(len)] = save_global


def _py2_dump(obj, path):
    with open(path, "wb") as f:
        _Py2Pickler(f, protocol=2).dump(obj)


def _make_split(rng, n):
    labels = rng.permutation(np.arange(n) % 10)
    return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), labels


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    """A tiny official layout; returns (root, {"train": (data, labels), "test": (data, labels)})."""
    root = tmp_path_factory.mktemp("cifar")
    out = root / "cifar-10-batches-py"
    out.mkdir()
    rng = np.random.default_rng(0)
    train = [_make_split(rng, N_TRAIN_PER_BATCH) for _ in range(5)]
    for b, (data, labels) in enumerate(train, 1):
        _py2_dump(
            {"batch_label": f"training batch {b} of 5", "labels": [int(v) for v in labels], "data": data,
             "filenames": [f"img_{b}_{i}.png" for i in range(len(labels))]},
            out / f"data_batch_{b}",
        )
    test = _make_split(rng, N_TEST)
    _py2_dump({"batch_label": "testing batch 1 of 1", "labels": [int(v) for v in test[1]], "data": test[0]},
              out / "test_batch")
    _py2_dump({"num_cases_per_batch": N_TRAIN_PER_BATCH, "label_names": list(CIFAR10_CLASSES)}, out / "batches.meta")
    splits = {
        "train": (np.concatenate([d for d, _ in train]), np.concatenate([lab for _, lab in train])),
        "test": test,
    }
    return root, splits


@pytest.fixture(scope="module")
def archive_bytes(cifar_root):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(cifar_root[0] / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return buf.getvalue()


@pytest.fixture(scope="module")
def jpeg_root(cifar_root, tmp_path_factory):
    """The same images as lossless PNGs in the image-folder layout ``cifar10-jpeg/{train,test}/<class>/``."""
    root = tmp_path_factory.mktemp("cifar_folder")
    for split, (data, labels) in cifar_root[1].items():
        for i, (row, label) in enumerate(zip(data, labels, strict=True)):
            path = root / "cifar10-jpeg" / split / CIFAR10_CLASSES[label] / f"{i:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(row.reshape(3, 32, 32).transpose(1, 2, 0)).save(path)
    return root


def _expected(splits, split, classes):
    data, labels = splits[split]
    keep = np.isin(labels, classes)
    lookup = {c: k for k, c in enumerate(classes)}
    return data[keep].reshape(-1, 3, 32, 32), np.array([lookup[v] for v in labels[keep]])


def test_all_classes_official_labels(cifar_root):
    root, splits = cifar_root
    for split, n in [("train", 5 * N_TRAIN_PER_BATCH), ("test", N_TEST)]:
        X, y = load_cifar10(root, split=split)
        assert X.shape == (n, 3, 32, 32) and X.dtype == np.uint8 and X.flags.c_contiguous
        assert y.dtype == np.int64
        np.testing.assert_array_equal(X, splits[split][0].reshape(-1, 3, 32, 32))
        np.testing.assert_array_equal(y, splits[split][1])


def test_classes_by_name_and_index_in_given_order(cifar_root):
    root, splits = cifar_root
    X, y = load_cifar10(root, split="train", classes=["dog", "cat"])
    X_exp, y_exp = _expected(splits, "train", [5, 3])
    np.testing.assert_array_equal(X, X_exp)
    np.testing.assert_array_equal(y, y_exp)
    assert set(y.tolist()) == {0, 1}
    X2, y2 = load_cifar10(root, split="train", classes=[5, "cat"])
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"split": "val"}, "split"),
        ({"classes": ["cow"]}, "classes"),
        ({"classes": [10]}, "classes"),
        ({"classes": "cat"}, "classes"),
        ({"classes": ["cat", 3]}, "twice"),
        ({"classes": []}, "empty"),
    ],
)
def test_invalid_parameters(cifar_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_cifar10(cifar_root[0], **kwargs)


def test_missing_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_cifar10(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_cifar10(tmp_path)


def test_python3_pickles_with_bytes_or_str_keys(cifar_root, tmp_path):
    root, splits = cifar_root
    out = tmp_path / "cifar-10-batches-py"
    out.mkdir()
    data, labels = splits["test"]
    with open(out / "test_batch", "wb") as f:
        pickle.dump({b"data": data, b"labels": labels.tolist()}, f, protocol=2)
    X, y = load_cifar10(tmp_path, split="test")
    np.testing.assert_array_equal(y, labels)
    with open(out / "test_batch", "wb") as f:
        pickle.dump({"data": data, "labels": labels}, f, protocol=5)
    X5, y5 = load_cifar10(tmp_path, split="test")
    np.testing.assert_array_equal(X5, X)
    np.testing.assert_array_equal(y5, y)


def test_archive_is_extracted_on_first_use(cifar_root, archive_bytes, tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(archive_bytes)
    X, y = load_cifar10(tmp_path, split="test", classes=["cat"])
    X_exp, y_exp = _expected(cifar_root[1], "test", [3])
    np.testing.assert_array_equal(X, X_exp)
    assert (tmp_path / "cifar-10-batches-py" / "test_batch").is_file()
    # No temporary extraction folder is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]


@pytest.fixture
def http_root(tmp_path, archive_bytes):
    """Serve a folder holding the fixture archive on 127.0.0.1; yields (base URL, archive MD5)."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "cifar-10-python.tar.gz").write_bytes(archive_bytes)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hashlib.md5(archive_bytes).hexdigest()
    finally:
        server.shutdown()
        server.server_close()


def test_download_verifies_md5(cifar_root, http_root, tmp_path):
    base, md5 = http_root
    root = tmp_path / "dl"
    X, y = load_cifar10(root, split="test", download=True, url=f"{base}/cifar-10-python.tar.gz", md5=md5)
    np.testing.assert_array_equal(y, cifar_root[1]["test"][1])
    assert (root / "cifar-10-python.tar.gz").is_file()


def test_download_wrong_checksum_leaves_nothing(http_root, tmp_path):
    base, md5 = http_root
    root = tmp_path / "dl"
    # The default is the official archive's MD5, which the fixture does not have.
    with pytest.raises(DatasetFileError, match="Checksum mismatch.*c58f30108f718f92721af3b95e74349a"):
        load_cifar10(root, download=True, url=f"{base}/cifar-10-python.tar.gz")
    assert list(root.iterdir()) == []


def test_download_http_error_names_url(http_root, tmp_path):
    base, _ = http_root
    with pytest.raises(OSError, match="missing.tar.gz"):
        load_cifar10(tmp_path, download=True, url=f"{base}/missing.tar.gz")


class _Payload:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_malicious_pickle_runs_nothing(cifar_root, tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"data": _Payload(f"touch {marker}"), "labels": [0]}, protocol=2)
    # The payload is live: loading the same construction plainly does run the command.
    control = tmp_path / "control"
    pickle.loads(pickle.dumps({"data": _Payload(f"touch {control}"), "labels": [0]}, protocol=2))
    assert control.exists()

    out = tmp_path / "cifar-10-batches-py"
    out.mkdir()
    (out / "test_batch").write_bytes(payload)
    with pytest.raises(UnsafePickleError, match=r"test_batch.*system"):
        load_cifar10(tmp_path, split="test")
    assert not marker.exists()


def test_hand_written_exec_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "batch"
    path.write_bytes(b"cbuiltins\nexec\n(S'open(%r, \"w\").close()'\ntR." % str(marker).encode())
    with pytest.raises(UnsafePickleError, match="builtins.exec"):
        _safe_unpickle(path)
    assert not marker.exists()


def test_truncated_and_malformed_batches_name_the_file(cifar_root, tmp_path):
    out = tmp_path / "cifar-10-batches-py"
    out.mkdir()
    good = (cifar_root[0] / "cifar-10-batches-py" / "test_batch").read_bytes()
    (out / "test_batch").write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetFileError, match="test_batch"):
        load_cifar10(tmp_path, split="test")
    bad_contents = [
        {"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]},
        {"data": np.zeros((2, 3072), np.uint8), "labels": [0]},
        {"data": np.zeros((2, 3072), np.uint8), "labels": [0, 12]},
        {"data": np.zeros((2, 3072), np.uint8), "labels": ["a", "b"]},
        ["not", "a", "dict"],
    ]
    for obj in bad_contents:
        _py2_dump(obj, out / "test_batch")
        with pytest.raises(DatasetFileError, match="test_batch"):
            load_cifar10(tmp_path, split="test")


def _tar_with(tmp_path, member_name, **info):
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        ok = tarfile.TarInfo("cifar-10-batches-py/readme")
        ok.size = 2
        tar.addfile(ok, io.BytesIO(b"ok"))
        evil = tarfile.TarInfo(member_name)
        for k, v in info.items():
            setattr(evil, k, v)
        tar.addfile(evil, io.BytesIO(b"evil") if evil.isfile() else None)
    return path


@pytest.mark.parametrize(
    "name, info",
    [
        ("../evil.txt", {"size": 4}),
        ("cifar-10-batches-py/../../evil.txt", {"size": 4}),
        ("cifar-10-batches-py/link", {"type": tarfile.SYMTYPE, "linkname": "../../evil.txt"}),
        ("cifar-10-batches-py/abs", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}),
    ],
)
def test_path_traversal_tar_is_refused(tmp_path, name, info):
    root = tmp_path / "a" / "b"
    root.mkdir(parents=True)
    _tar_with(root, name, **info)
    with pytest.raises(DatasetFileError, match="Refusing to extract .*cifar-10-python.tar.gz"):
        load_cifar10(root)
    assert not any(p.name == "evil.txt" for p in tmp_path.rglob("*"))
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-python.tar.gz"]


def test_corrupt_archive_names_the_file(tmp_path, archive_bytes):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(archive_bytes[: len(archive_bytes) // 2])
    with pytest.raises(DatasetFileError, match="cifar-10-python.tar.gz"):
        load_cifar10(tmp_path)


def test_image_folder_layout_matches_official(cifar_root, jpeg_root):
    root, splits = cifar_root
    for split in ("train", "test"):
        X_off, y_off = load_cifar10(root, split=split, classes=["truck", "cat", "airplane"])
        X_fold, y_fold = load_cifar10(jpeg_root, split=split, classes=["truck", "cat", "airplane"])
        assert X_fold.shape == X_off.shape and X_fold.flags.c_contiguous and y_fold.dtype == np.int64
        # Within a class both keep the order of the source files.
        for k in range(3):
            np.testing.assert_array_equal(X_fold[y_fold == k], X_off[y_off == k])
    X_all, y_all = load_cifar10(jpeg_root / "cifar10-jpeg", split="test")
    np.testing.assert_array_equal(np.bincount(y_all), np.bincount(splits["test"][1]))


def test_image_folder_archive_matches_folder(jpeg_root, tmp_path):
    with tarfile.open(tmp_path / "cifar10-jpeg.tar.gz", "w:gz") as tar:
        tar.add(jpeg_root / "cifar10-jpeg", arcname="cifar10-jpeg")
    X_a, y_a = load_cifar10(tmp_path, split="test", classes=["dog", "ship"])
    X_f, y_f = load_cifar10(jpeg_root, split="test", classes=["dog", "ship"])
    np.testing.assert_array_equal(X_a, X_f)
    np.testing.assert_array_equal(y_a, y_f)
    # Read in place: nothing is extracted.
    assert [p.name for p in tmp_path.iterdir()] == ["cifar10-jpeg.tar.gz"]


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "cifar10-jpeg.tar.gz").is_file(), reason=f"{SHARED_DATA} is absent")
def test_real_cifar10_official_layout_matches_image_folder(tmp_path):
    subprocess.run([sys.executable, str(SHARED_DATA / "make_cifar10_python.py"), str(tmp_path)], check=True,
                   capture_output=True)
    for split, n in [("train", 10000), ("test", 2000)]:
        X_off, y_off = load_cifar10(tmp_path, split=split, classes=["cat", "dog"])
        X_img, y_img = load_cifar10(SHARED_DATA, split=split, classes=["cat", "dog"])
        assert X_off.shape == X_img.shape == (n, 3, 32, 32)
        assert np.bincount(y_off).tolist() == np.bincount(y_img).tolist() == [n // 2, n // 2]
        # The batches are shuffled; their "filenames" (cat_train_0042.png) say which JPEG each row is.
        names = []
        for f in sorted((tmp_path / "cifar-10-batches-py").glob("test_batch" if split == "test" else "data_batch_*")):
            batch = _safe_unpickle(f)
            names += [fn for fn, lab in zip(batch["filenames"], batch["labels"], strict=True) if lab in (3, 5)]
        # Image-folder order: cat files then dog files, each by file number.
        folder_pos = {}
        for k, cls in enumerate(["cat", "dog"]):
            stems = sorted(n_.split("_")[-1] for n_ in names if n_.startswith(cls + "_"))
            folder_pos.update({f"{cls}_{split}_{s}": k * (n // 2) + i for i, s in enumerate(stems)})
        order = np.array([folder_pos[n_] for n_ in names])
        np.testing.assert_array_equal(X_off, X_img[order])
        np.testing.assert_array_equal(y_off, y_img[order])


class _SlowResponse:
    """Stands in for urlopen's response: one byte per read, a little apart, as a trickling server sends."""

    def __init__(self, n_bytes=500, delay=0.01, interrupt_at=None, headers=None):
        self.left, self.delay, self.interrupt_at, self.reads = n_bytes, delay, interrupt_at, 0
        self.headers = headers or {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self, n=-1):
        self.reads += 1
        if self.reads == self.interrupt_at:
            raise KeyboardInterrupt
        time.sleep(self.delay)
        if self.left == 0:
            return b""
        self.left -= 1
        return b"x"


def _fake_urlopen(monkeypatch, response):
    calls = []

    def urlopen(url, timeout=None):
        calls.append(timeout)
        return response

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return calls


def test_download_has_an_overall_deadline_and_leaves_no_partial_file(monkeypatch, tmp_path):
    # 500 bytes 10 ms apart take 5 s; a per-read timeout alone would never fire.
    response = _SlowResponse()
    calls = _fake_urlopen(monkeypatch, response)
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"Downloading http://example\.invalid/c\.tar\.gz.*timeout=0\.1 s"):
        load_cifar10(tmp_path, download=True, url="http://example.invalid/c.tar.gz", timeout=0.1)
    assert time.monotonic() - start < 2
    assert 0 < response.reads < 100
    # A silent socket is bounded too, never by more than the whole deadline.
    assert calls == [0.1]
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_leaves_no_partial_file(monkeypatch, tmp_path):
    _fake_urlopen(monkeypatch, _SlowResponse(delay=0, interrupt_at=5))
    with pytest.raises(KeyboardInterrupt):
        load_cifar10(tmp_path, download=True, url="http://example.invalid/c.tar.gz")
    assert list(tmp_path.iterdir()) == []


def test_download_cut_short_is_refused_even_without_md5(monkeypatch, tmp_path):
    _fake_urlopen(monkeypatch, _SlowResponse(n_bytes=3, delay=0, headers={"Content-Length": "10"}))
    with pytest.raises(OSError, match=r"c\.tar\.gz failed: .*closed after 3 of 10 bytes"):
        load_cifar10(tmp_path, download=True, url="http://example.invalid/c.tar.gz", md5=None)
    assert list(tmp_path.iterdir()) == []


def test_download_never_overwrites_a_file_named_like_the_partial_file(http_root, tmp_path):
    base, md5 = http_root
    root = tmp_path / "dl"
    root.mkdir()
    mine = root / "cifar-10-python.tar.gz.part"
    mine.write_text("mine")
    load_cifar10(root, split="test", download=True, url=f"{base}/cifar-10-python.tar.gz", md5=md5)
    assert mine.read_text() == "mine"
    assert sorted(p.name for p in root.iterdir()) == [
        "cifar-10-batches-py", "cifar-10-python.tar.gz", "cifar-10-python.tar.gz.part"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"timeout": 0}, r"timeout must be a positive, finite number of seconds; got 0"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": "60"}, "timeout"),
        ({"md5": "abc"}, r"md5 must be None or 32 hexadecimal digits; got 'abc'"),
        ({"url": None}, "url must be a non-empty string"),
        ({"download": "no"}, r"download must be True or False; got 'no'"),
        ({"split": ["train"]}, "split must be 'train' or 'test'"),
    ],
)
def test_invalid_download_parameters_fetch_nothing(monkeypatch, tmp_path, kwargs, match):
    calls = _fake_urlopen(monkeypatch, _SlowResponse())
    with pytest.raises(ValueError, match=match):
        load_cifar10(tmp_path, **{"download": True, **kwargs})
    assert calls == [] and list(tmp_path.iterdir()) == []


def test_root_that_is_a_file(tmp_path):
    (tmp_path / "data").write_text("x")
    with pytest.raises(NotADirectoryError, match="data' is a file"):
        load_cifar10(tmp_path / "data", download=True)
    with pytest.raises(TypeError, match="root must be a folder path"):
        load_cifar10(None)


def test_stray_file_blocking_the_extraction_is_named_not_removed(monkeypatch, archive_bytes, tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(archive_bytes)
    (tmp_path / "cifar-10-batches-py").write_text("notes")

    def no_extraction(*args, **kwargs):
        raise AssertionError("the archive was opened although it cannot be put in place")

    monkeypatch.setattr(tarfile, "open", no_extraction)
    for _ in range(2):
        with pytest.raises(FileExistsError, match=r"cifar-10-batches-py' is in the way.*a folder"):
            load_cifar10(tmp_path)
    assert (tmp_path / "cifar-10-batches-py").read_text() == "notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]


def test_folder_blocking_the_download_is_named_before_downloading(monkeypatch, tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").mkdir()
    calls = _fake_urlopen(monkeypatch, _SlowResponse())
    with pytest.raises(FileExistsError, match=r"cifar-10-python.tar.gz' is in the way.*a regular file"):
        load_cifar10(tmp_path, download=True)
    assert calls == []


def _write_labels(tmp_path, labels):
    out = tmp_path / "cifar-10-batches-py"
    out.mkdir(exist_ok=True)
    _py2_dump({"data": np.zeros((len(labels), 3072), np.uint8), "labels": labels}, out / "test_batch")


def test_float_labels_must_be_integral(tmp_path):
    _write_labels(tmp_path, [0.0, 3.7])
    with pytest.raises(DatasetFileError, match=r"test_batch: 'labels' must be integers; got .* 3\.7"):
        load_cifar10(tmp_path, split="test")
    _write_labels(tmp_path, [0.0, 3.0, 12.0])
    with pytest.raises(DatasetFileError, match=r"ints in 0\.\.9"):
        load_cifar10(tmp_path, split="test")
    _write_labels(tmp_path, [True, False])
    with pytest.raises(DatasetFileError, match="not a list of ints"):
        load_cifar10(tmp_path, split="test")
    # Whole numbers stored as floats are read as they are.
    _write_labels(tmp_path, [0.0, 3.0])
    assert load_cifar10(tmp_path, split="test")[1].tolist() == [0, 3]


@pytest.mark.parametrize("present", ["train", "test"])
def test_missing_split_folder_is_named(tmp_path, present):
    folder = tmp_path / "cifar10-jpeg" / present / "cat"
    folder.mkdir(parents=True)
    Image.new("RGB", (32, 32)).save(folder / "0.png")
    absent = "test" if present == "train" else "train"
    for split in ("train", "test"):
        match = rf"cifar10-jpeg/{absent}' is missing beside .*cifar10-jpeg/{present}'"
        with pytest.raises(FileNotFoundError, match=match):
            load_cifar10(tmp_path, split=split, classes=["cat"])


def test_image_folder_archive_skips_hidden_members_and_names_a_missing_split(jpeg_root, tmp_path):
    with tarfile.open(tmp_path / "cifar10-jpeg.tar.gz", "w:gz") as tar:
        tar.add(jpeg_root / "cifar10-jpeg" / "train", arcname="cifar10-jpeg/train")
        # What macOS tar adds beside every file, and a notebook's checkpoint folder: not images.
        junk = tarfile.TarInfo("cifar10-jpeg/train/cat/._0000.png")
        junk.size = 4
        tar.addfile(junk, io.BytesIO(b"junk"))
        hidden = tarfile.TarInfo("cifar10-jpeg/train/.ipynb_checkpoints/0000.png")
        hidden.size = 4
        tar.addfile(hidden, io.BytesIO(b"junk"))
    X, y = load_cifar10(tmp_path, split="train", classes=["cat"])
    X_ref, _ = load_cifar10(jpeg_root, split="train", classes=["cat"])
    np.testing.assert_array_equal(X, X_ref)
    with pytest.raises(FileNotFoundError, match=r"holds no images .* under cifar10-jpeg/test/"):
        load_cifar10(tmp_path, split="test", classes=["cat"])
