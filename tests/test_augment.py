"""Batched augmentations: shape/dtype/device contract, seeding, per-sample randomness, exact geometry."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from imbsk.augment import (
    ColorJitter,
    Compose,
    GaussianBlur,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomSingleChannel,
    UnsharpMask,
    augment_array,
    call_augmentation,
    default_augmentation,
    torch_generator,
)

AUGMENTATIONS = [
    RandomHorizontalFlip(),
    RandomAffine(),
    RandomAffine(interpolation="nearest", padding_mode="reflection"),
    RandomCrop(padding=2),
    GaussianBlur(),
    UnsharpMask(),
    RandomSingleChannel(mode="zero"),
    RandomSingleChannel(mode="replicate"),
    ColorJitter(),
    *[default_augmentation(p) for p in ("default", "light", "geometric", "channels", "strong")],
]


def _batch(dtype=torch.uint8, n=16, c=3, h=10, w=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, c, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


def _ids(augs):
    return [repr(a).replace("\n", "")[:40] for a in augs]


@pytest.mark.parametrize("aug", AUGMENTATIONS, ids=_ids(AUGMENTATIONS))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float64])
def test_contract_shape_dtype_seed_and_input_untouched(aug, dtype):
    x = _batch(dtype)
    before = x.clone()
    y1 = aug(x, generator=torch.Generator().manual_seed(5))
    y2 = aug(x, generator=torch.Generator().manual_seed(5))
    assert y1.shape == x.shape and y1.dtype == x.dtype and y1.device == x.device
    assert torch.equal(y1, y2)
    assert torch.equal(x, before)
    assert torch.isfinite(y1.to(torch.float64)).all()
    # Per-sample randomness: not every image is changed in the same way.
    changed = (y1 != x).flatten(1).any(1)
    assert changed.any()


@pytest.mark.parametrize("aug", AUGMENTATIONS, ids=_ids(AUGMENTATIONS))
def test_picklable_clonable_with_params(aug):
    restored = pickle.loads(pickle.dumps(aug))
    assert repr(restored) == repr(aug)
    assert clone(aug).get_params(deep=False).keys() == aug.get_params(deep=False).keys()
    x = _batch()
    assert torch.equal(restored(x, torch.Generator().manual_seed(1)), aug(x, torch.Generator().manual_seed(1)))


def test_probability_zero_is_identity_and_one_changes_all():
    x = _batch(torch.float32)
    for cls in (RandomHorizontalFlip, RandomAffine, RandomCrop, GaussianBlur, UnsharpMask, RandomSingleChannel,
                ColorJitter):
        # Resampling with an identity grid is exact up to float rounding of the grid coordinates.
        assert torch.allclose(cls(p=0.0)(x), x, atol=1e-5), cls
    assert (RandomAffine(p=1.0)(x) != x).flatten(1).any(1).all()


def test_each_image_gets_its_own_parameters():
    # Identical images in, different images out: the draws are per sample, not per batch.
    x = _batch(torch.float32, n=1).expand(8, -1, -1, -1)
    y = RandomAffine(degrees=30)(x, torch.Generator().manual_seed(0))
    assert len({tuple(img.flatten().tolist()) for img in y}) == 8


def test_geometry_is_exact():
    x = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(2, 3, 5, 7)
    assert torch.equal(RandomHorizontalFlip(p=1.0)(x), x.flip(-1))
    # A 90-degree rotation of a non-square image maps a horizontal line through the centre to a vertical one.
    line = torch.zeros(1, 1, 5, 9)
    line[0, 0, 2, :] = 1
    rotated = RandomAffine(degrees=(90, 90), translate=0, scale=(1, 1), shear=0)(line)
    assert torch.allclose(rotated[0, 0, :, 4], torch.ones(5), atol=1e-5)
    assert torch.allclose(rotated[0, 0].sum(), torch.tensor(5.0), atol=1e-4)
    # A crop with padding is a whole-pixel shift: the output is a window of the zero-padded input.
    shifted = RandomCrop(padding=2)(x, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):
        windows = [padded[i, :, r:r + 5, c:c + 7] for r in range(5) for c in range(5)]
        assert any(torch.equal(shifted[i], w) for w in windows)


def test_compose_fuses_geometry_with_the_same_draws():
    x = _batch(torch.float32)
    fused = Compose([RandomHorizontalFlip(), RandomCrop(padding=2)])(x, torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    one_by_one = RandomCrop(padding=2)._apply(RandomHorizontalFlip()._apply(x, g), g)
    assert torch.allclose(fused, one_by_one, atol=1e-5)


@pytest.mark.parametrize("transforms", [
    [ColorJitter(p=0.7), RandomSingleChannel(p=0.5)],
    [ColorJitter(), ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5)],  # means must follow the first map
    [RandomSingleChannel(mode="zero", p=0.5), ColorJitter(contrast=0.8), RandomSingleChannel(p=0.5)],
])
def test_compose_fuses_colour_with_the_same_draws(transforms):
    x = _batch(torch.float64)
    fused = Compose(transforms)(x, torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    one_by_one = x
    for t in transforms:
        one_by_one = t(one_by_one, g)
    assert not torch.allclose(fused, x)
    assert torch.allclose(fused, one_by_one, atol=1e-10)


def test_compose_does_not_write_into_a_floating_input():
    x = _batch(torch.float32)
    before = x.clone()
    for preset in ("default", "channels", "strong"):
        for size in (10, 1):  # 1-pixel images: blur and sharpening hand the batch back unchanged
            xs = before[:, :, :size, :size].clone()
            ref = xs.clone()
            out = default_augmentation(preset)(xs, torch.Generator().manual_seed(0))
            assert torch.equal(xs, ref) and out.data_ptr() != xs.data_ptr()
    assert torch.equal(x, before)


def test_single_channel_modes():
    x = _batch(torch.float32)
    y = RandomSingleChannel(mode="replicate", p=1.0)(x, torch.Generator().manual_seed(0))
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 1], y[:, 2])
    assert all(any(torch.equal(y[i, 0], x[i, k]) for k in range(3)) for i in range(len(x)))
    z = RandomSingleChannel(mode="zero", p=1.0)(x, torch.Generator().manual_seed(0))
    assert ((z != 0).flatten(2).any(2).sum(1) == 1).all()


def test_color_jitter_matches_sequential_definition():
    x = _batch(torch.float64)
    g = torch.Generator().manual_seed(4)
    y = ColorJitter(0.3, 0.3, 0.3)(x, torch.Generator().manual_seed(4))
    fb, fc, fs = (0.7 + 0.6 * torch.rand(len(x), generator=g, dtype=torch.float64)[:, None, None, None]
                  for _ in range(3))
    w = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64)[None, :, None, None]
    b = x * fb
    mean = (b * w).sum(1, keepdim=True).mean(dim=(1, 2, 3), keepdim=True)
    c = (b - mean) * fc + mean
    gray = (c * w).sum(1, keepdim=True)
    assert torch.allclose(y, (c - gray) * fs + gray)


def test_blur_smooths_and_unsharp_sharpens():
    x = _batch(torch.float32)
    lap = lambda t: (t[..., 1:, :] - t[..., :-1, :]).abs().mean()  # noqa: E731
    assert lap(GaussianBlur(sigma=1.0, p=1.0)(x)) < lap(x)
    assert lap(UnsharpMask(amount=1.0, p=1.0)(x)) > lap(x)


def _numpy_blur(x, sigma, radius):
    """Reference: 1-D Gaussian correlation along W then H with numpy's reflect padding."""
    t = np.arange(-radius, radius + 1)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    k /= k.sum()
    out = x.astype(np.float64)
    for axis in (3, 2):
        pad = [(0, 0)] * 4
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect")
        size = out.shape[axis]
        out = sum(k[i] * np.take(padded, np.arange(i, i + size), axis=axis) for i in range(len(k)))
    return out


@pytest.mark.parametrize("shape", [(3, 3, 10, 12), (2, 1, 5, 9), (2, 2, 16, 16)])
@pytest.mark.parametrize("sigma", [0.5, 1.0, 1.7])
def test_blur_matches_reference_convolution(shape, sigma):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = GaussianBlur(sigma=sigma, p=1.0)(x)
    radius = int(min(np.ceil(3 * sigma), shape[2] - 1, shape[3] - 1))
    np.testing.assert_allclose(y.numpy(), _numpy_blur(x.numpy(), sigma, radius), atol=1e-12)
    # Unsharp mask with the same sigma is x + amount * (x - blur(x)).
    z = UnsharpMask(amount=0.7, sigma=sigma, p=1.0)(x)
    np.testing.assert_allclose(z.numpy(), x.numpy() + 0.7 * (x.numpy() - _numpy_blur(x.numpy(), sigma, radius)),
                               atol=1e-12)


def test_uint8_output_is_clamped():
    x = torch.full((4, 3, 6, 6), 250, dtype=torch.uint8)
    y = ColorJitter(brightness=(2.0, 2.0), contrast=0, saturation=0)(x)
    assert y.dtype == torch.uint8 and int(y.max()) == 255


@pytest.mark.parametrize("preset", ["default", "channels", "strong"])
def test_augment_array_draws_once_whatever_the_batch_size(preset):
    X = np.random.RandomState(1).randint(0, 256, (23, 3, 9, 9)).astype(np.uint8)
    aug = default_augmentation(preset)
    whole = aug(torch.from_numpy(X), torch_generator(7)).numpy()
    assert (whole != X).any()
    for batch_size in (1, 5, 23, 64):
        np.testing.assert_array_equal(augment_array(X, aug, random_state=7, batch_size=batch_size), whole)


def test_augment_array_calls_other_callables_once_per_chunk():
    X = np.arange(10 * 2 * 2, dtype=np.float32).reshape(10, 1, 2, 2)
    sizes = []

    def record(x, generator=None):
        sizes.append(len(x))
        return x + 1

    np.testing.assert_array_equal(augment_array(X, record, batch_size=4), X + 1)
    assert sizes == [4, 4, 2]


def test_augment_array_numpy_roundtrip():
    X = np.random.RandomState(0).randint(0, 256, (10, 3, 8, 8)).astype(np.uint8)
    X_before = X.copy()
    a = augment_array(X, "default", random_state=0, batch_size=4)
    b = augment_array(X, "default", random_state=0, batch_size=4)
    assert a.dtype == np.uint8 and a.shape == X.shape
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, X_before)
    gray = augment_array(X[:, 0].astype(np.float32) / 255, RandomAffine(), random_state=0)
    assert gray.shape == (10, 8, 8) and gray.dtype == np.float32


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: RandomAffine()(torch.zeros(3, 8, 8)), "shape"),
        (lambda: RandomAffine()(torch.zeros(2, 3, 8, 8, dtype=torch.int32)), "dtype"),
        (lambda: RandomAffine(degrees=-1)(_batch()), "degrees"),
        (lambda: RandomCrop(padding_mode="wrap")(_batch()), "padding_mode"),
        (lambda: RandomHorizontalFlip(p=2)(_batch()), "p must be"),
        (lambda: RandomSingleChannel(mode="drop")(_batch()), "mode"),
        (lambda: default_augmentation("fancy"), "preset"),
        (lambda: augment_array(np.zeros((4, 4)), "light"), "shape"),
    ],
)
def test_bad_parameters_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_gpu_with_device_generator():
    x = _batch().cuda()
    y = default_augmentation("strong")(x, torch.Generator(device="cuda").manual_seed(0))
    assert y.device == x.device and y.dtype == torch.uint8


def _takes_generator(x, generator=None):
    return x + torch.randint(1, 5, x.shape, generator=generator, dtype=x.dtype)


def _plain(x):
    return x + torch.randint(1, 5, x.shape, dtype=x.dtype)


class _Jitter(torch.nn.Module):
    def forward(self, x):
        return x.flip(-1)


class _Crop(torch.nn.Module):
    def forward(self, x):
        return x[..., 1:]


def test_call_augmentation_passes_the_generator_only_to_callables_that_take_it():
    x = _batch(torch.float32, n=4)
    a = call_augmentation(_takes_generator, x, torch.Generator().manual_seed(3))
    b = call_augmentation(_takes_generator, x, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)
    # f(x) alone, a module with forward(x) and a **kwargs catch-all are all called as f(x).
    assert call_augmentation(_plain, x, torch.Generator()).shape == x.shape
    torch.testing.assert_close(call_augmentation(_Jitter(), x, torch.Generator()), x.flip(-1))
    seen = []

    def catch_all(x, **kwargs):
        seen.append(kwargs)
        return x

    call_augmentation(catch_all, x, torch.Generator())
    assert seen == [{}]
    keyword_only = call_augmentation(lambda x, *, generator=None: _takes_generator(x, generator), x,
                                     torch.Generator().manual_seed(3))
    torch.testing.assert_close(keyword_only, a)


def test_call_augmentation_reads_a_signature_once(monkeypatch):
    import imbsk.augment as A

    calls = []
    signature = A.inspect.signature
    monkeypatch.setattr(A.inspect, "signature", lambda f: calls.append(f) or signature(f))
    aug = _Jitter()
    for _ in range(3):
        call_augmentation(aug, _batch(n=2))
    assert len(calls) == 1


@pytest.mark.parametrize(
    "aug, error, match",
    [
        (lambda x: x[..., :4], ValueError, r"augmentation <lambda> must return .*\(2, 3, 10, 12\).*\(2, 3, 10, 4\)"),
        (lambda x: x.float(), ValueError, r"<lambda> .*torch.uint8.*returned .*torch.float32"),
        (lambda x: x.to("meta"), ValueError, r"<lambda> .*device.*cpu.*returned .*meta"),
        (lambda x: x.numpy(), TypeError, r"augmentation <lambda> must return a torch.Tensor.*ndarray"),
        (_Crop(), ValueError, r"augmentation _Crop\(\) must return"),
    ],
)
def test_call_augmentation_names_an_augmentation_with_a_wrong_output(aug, error, match):
    with pytest.raises(error, match=match):
        call_augmentation(aug, _batch(n=2))


def test_augment_array_seeds_a_plain_callable_and_keeps_the_global_stream():
    X = np.zeros((6, 1, 4, 4), dtype=np.float32)
    torch.manual_seed(0)
    expected_next = torch.rand(1)
    torch.manual_seed(0)
    a = augment_array(X, _plain, random_state=5, batch_size=4)
    assert torch.equal(torch.rand(1), expected_next)  # the caller's global stream is untouched
    np.testing.assert_array_equal(a, augment_array(X, _plain, random_state=5, batch_size=4))
    assert not np.array_equal(a, augment_array(X, _plain, random_state=6, batch_size=4))
