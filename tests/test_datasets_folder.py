import os

import numpy as np
import pytest
from PIL import Image

from imbsk.datasets import DatasetFileError, _image_folder, load_image_folder


def _save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path)


def _rgb(rng, h=5, w=6):
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


@pytest.fixture
def folder(tmp_path):
    """root/<class>/*.png with known pixels; returns (root, {class: [HWC arrays in file-name order]})."""
    rng = np.random.default_rng(0)
    content = {"dog": [_rgb(rng) for _ in range(3)], "cat": [_rgb(rng) for _ in range(2)], "bird": [_rgb(rng)]}
    for cls, arrays in content.items():
        for i, a in enumerate(arrays):
            _save(tmp_path / cls / f"{i:03d}.png", a)
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    return tmp_path, content


def _chw(arrays):
    return np.stack([a.transpose(2, 0, 1) for a in arrays])


def test_sorted_classes_and_pixels(folder):
    root, content = folder
    X, y = load_image_folder(root)
    assert X.dtype == np.uint8 and X.shape == (6, 3, 5, 6) and X.flags.c_contiguous
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 1, 2, 2, 2]
    expected = _chw(content["bird"] + content["cat"] + content["dog"])
    np.testing.assert_array_equal(X, expected)


def test_classes_in_given_order(folder):
    root, content = folder
    X, y = load_image_folder(root, classes=["dog", "bird"])
    assert y.tolist() == [0, 0, 0, 1]
    np.testing.assert_array_equal(X, _chw(content["dog"] + content["bird"]))


def test_nested_files_and_extensions(tmp_path):
    rng = np.random.default_rng(1)
    a, b, c = _rgb(rng), _rgb(rng), _rgb(rng)
    _save(tmp_path / "a" / "x.PNG", a)
    _save(tmp_path / "a" / "sub" / "y.bmp", b)
    _save(tmp_path / "b" / "z.jpeg", c)
    X, y = load_image_folder(tmp_path)
    assert y.tolist() == [0, 0, 1]
    np.testing.assert_array_equal(X[:2], _chw([a, b]))
    # JPEG is lossy: compare with what PIL itself decodes.
    np.testing.assert_array_equal(X[2], np.asarray(Image.open(tmp_path / "b" / "z.jpeg")).transpose(2, 0, 1))


def test_gray_only_gives_one_channel(tmp_path):
    g = np.arange(30, dtype=np.uint8).reshape(5, 6)
    _save(tmp_path / "a" / "0.png", g)
    _save(tmp_path / "b" / "0.png", 255 - g)
    X, _ = load_image_folder(tmp_path)
    assert X.shape == (2, 1, 5, 6)
    np.testing.assert_array_equal(X[1, 0], 255 - g)


def test_mixed_modes_convert_like_pil_rgb(tmp_path):
    rng = np.random.default_rng(2)
    gray = Image.fromarray(rng.integers(0, 256, (5, 6), dtype=np.uint8))
    rgba = Image.fromarray(rng.integers(0, 256, (5, 6, 4), dtype=np.uint8))
    pal = Image.fromarray(_rgb(rng)).convert("P")
    for name, img in [("0.png", gray), ("1.png", rgba), ("2.png", pal)]:
        (tmp_path / "c").mkdir(exist_ok=True)
        img.save(tmp_path / "c" / name)
    X, _ = load_image_folder(tmp_path)
    assert X.shape == (3, 3, 5, 6)
    for i, img in enumerate([gray, rgba, pal]):
        np.testing.assert_array_equal(X[i], np.asarray(img.convert("RGB")).transpose(2, 0, 1))


def test_sizes_differ(tmp_path):
    rng = np.random.default_rng(3)
    small, big = _rgb(rng, 4, 4), _rgb(rng, 8, 6)
    _save(tmp_path / "a" / "0.png", small)
    _save(tmp_path / "a" / "1.png", big)
    with pytest.raises(ValueError, match=r"different sizes.*1\.png is 8x6.*image_size"):
        load_image_folder(tmp_path)
    X, _ = load_image_folder(tmp_path, image_size=(4, 5))
    assert X.shape == (2, 3, 4, 5)
    resized = Image.fromarray(big).resize((5, 4), Image.Resampling.BILINEAR)
    np.testing.assert_array_equal(X[1], np.asarray(resized).transpose(2, 0, 1))
    assert load_image_folder(tmp_path, image_size=3)[0].shape == (2, 3, 3, 3)


def test_corrupt_and_truncated_files_name_the_file(tmp_path):
    rng = np.random.default_rng(4)
    _save(tmp_path / "a" / "ok.png", _rgb(rng, 32, 32))
    data = (tmp_path / "a" / "ok.png").read_bytes()
    (tmp_path / "a" / "truncated.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetFileError, match="truncated.png"):
        load_image_folder(tmp_path)
    (tmp_path / "a" / "truncated.png").unlink()
    (tmp_path / "a" / "garbage.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    with pytest.raises(DatasetFileError, match="garbage.jpg"):
        load_image_folder(tmp_path)


def test_missing_things(tmp_path, folder):
    root, _ = folder
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_folder(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="'horse'"):
        load_image_folder(root, classes=["cat", "horse"])
    (root / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="No image files"):
        load_image_folder(root)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"classes": "cat"}, "classes"),
        ({"classes": []}, "classes"),
        ({"classes": ["cat", "cat"]}, "repeat"),
        ({"image_size": 0}, "image_size"),
        ({"image_size": (3, 2, 1)}, "image_size"),
        ({"image_size": 2.5}, "image_size"),
        ({"n_threads": 0}, "n_threads"),
    ],
)
def test_invalid_parameters(folder, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_image_folder(folder[0], **kwargs)


def test_threads_give_the_same_result(tmp_path, monkeypatch):
    # Small chunks so that several threads really share the work.
    monkeypatch.setattr(_image_folder, "_CHUNK", 7)
    rng = np.random.default_rng(5)
    for i in range(40):
        _save(tmp_path / f"c{i % 3}" / f"{i:02d}.png", _rgb(rng, 3, 3))
    X1, y1 = load_image_folder(tmp_path, n_threads=1)
    X4, y4 = load_image_folder(tmp_path, n_threads=4)
    np.testing.assert_array_equal(X1, X4)
    np.testing.assert_array_equal(y1, y4)
    assert np.bincount(y1).tolist() == [14, 13, 13]


def test_cache_reused_and_invalidated(folder, tmp_path_factory, monkeypatch):
    root, _ = folder
    cache = tmp_path_factory.mktemp("cache")
    X, y = load_image_folder(root, cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 1

    def fail(*args):
        raise AssertionError("decoded although cached")

    with monkeypatch.context() as m:
        m.setattr(_image_folder, "_decode_all", fail)
        Xc, yc = load_image_folder(root, cache_dir=cache)
    np.testing.assert_array_equal(X, Xc)
    np.testing.assert_array_equal(y, yc)

    # Another parameter set is another entry.
    load_image_folder(root, classes=["cat"], cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 2

    # A changed file is noticed: the cache is keyed on sizes and modification times.
    new = np.full((5, 6, 3), 7, dtype=np.uint8)
    target = root / "bird" / "000.png"
    _save(target, new)
    st = os.stat(target)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    X2, _ = load_image_folder(root, cache_dir=cache)
    np.testing.assert_array_equal(X2[0], new.transpose(2, 0, 1))

    # A damaged cache entry is rebuilt rather than trusted.
    for f in cache.glob("*.npz"):
        f.write_bytes(b"broken")
    X3, _ = load_image_folder(root, cache_dir=cache)
    np.testing.assert_array_equal(X3, X2)


def test_symlink_loops_and_links_above_the_class_are_not_followed(tmp_path):
    rng = np.random.default_rng(6)
    root, outside = tmp_path / "root", tmp_path / "outside"
    cat, dog, extra = _rgb(rng), _rgb(rng), _rgb(rng)
    _save(root / "cat" / "0.png", cat)
    _save(root / "dog" / "0.png", dog)
    _save(outside / "1.png", extra)
    (root / "cat" / "up").symlink_to("..")  # would load every class again under "cat"
    (root / "cat" / "self").symlink_to(".")  # a loop
    (root / "dog" / "deep").mkdir()
    (root / "dog" / "deep" / "back").symlink_to("../..")  # a loop through a real sub-folder
    (root / "cat" / "more").symlink_to(outside)  # an ordinary link elsewhere is followed
    (root / "cat" / "again").symlink_to(outside)  # ... but only once
    (root / "everything").symlink_to(".")  # a "class" holding every class
    X, y = load_image_folder(root)
    assert y.tolist() == [0, 0, 1]
    np.testing.assert_array_equal(X, _chw([cat, extra, dog]))
    with pytest.raises(ValueError, match=r"'everything' .* cannot be loaded: it links to .*which holds every class"):
        load_image_folder(root, classes=["cat", "everything"])


def test_hidden_folders_and_files_are_skipped(tmp_path):
    rng = np.random.default_rng(7)
    a, b = _rgb(rng), _rgb(rng)
    _save(tmp_path / "a" / "0.png", a)
    _save(tmp_path / "b" / "0.png", b)
    # Sorted first, a hidden folder taken as class 0 would shift every label by one.
    _save(tmp_path / ".ipynb_checkpoints" / "0.png", _rgb(rng))
    _save(tmp_path / "a" / ".ipynb_checkpoints" / "0-checkpoint.png", _rgb(rng))
    (tmp_path / "a" / "._0.png").write_bytes(b"macOS resource fork, not an image")
    X, y = load_image_folder(tmp_path)
    assert y.tolist() == [0, 1]
    np.testing.assert_array_equal(X, _chw([a, b]))
    with pytest.raises(ValueError, match=r"'.ipynb_checkpoints' .* hidden folders are not classes"):
        load_image_folder(tmp_path, classes=[".ipynb_checkpoints"])


@pytest.mark.parametrize("mode", ["I;16", "I"])
def test_16_bit_images_are_scaled_not_clipped(tmp_path, monkeypatch, mode):
    values = np.array([[0, 255, 256, 1000], [32768, 40000, 65280, 65535]], dtype=np.uint16)
    _save(tmp_path / "a" / "0.png", values)
    assert Image.open(tmp_path / "a" / "0.png").mode == "I;16"
    if mode == "I":
        # Older Pillow versions open 16-bit gray PNGs as 32-bit "I".
        real_open = Image.open
        monkeypatch.setattr(Image, "open", lambda fp: real_open(fp).convert("I"))
    X, _ = load_image_folder(tmp_path)
    assert X.shape == (1, 1, 2, 4)
    assert X[0, 0].tolist() == [[0, 0, 1, 3], [128, 156, 255, 255]]
    # Standard 8 -> 16 bit expansion (v * 257) comes back exactly.
    _save(tmp_path / "a" / "0.png", (np.arange(256, dtype=np.uint16) * 257).reshape(16, 16))
    np.testing.assert_array_equal(load_image_folder(tmp_path)[0][0, 0].ravel(), np.arange(256))


def test_class_names_must_be_strings(folder):
    with pytest.raises(ValueError, match=r"classes must hold folder names \(str\); got 0 of type int"):
        load_image_folder(folder[0], classes=[0, 1])


def test_cache_dir_problems(folder, tmp_path_factory, monkeypatch):
    root, _ = folder
    cache = tmp_path_factory.mktemp("cache")
    (cache / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="cache_dir .*file' is a file"):
        load_image_folder(root, cache_dir=cache / "file")

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left"):
        load_image_folder(root, cache_dir=cache / "c")
    # No half-written entry is left behind.
    assert list((cache / "c").iterdir()) == []
