"""Batched, per-sample-random image augmentations on torch tensors.

Every augmentation takes a whole batch ``x`` of shape ``(N, C, H, W)`` and draws its random parameters
for all ``N`` images at once, so one call costs a handful of tensor operations whatever ``N`` is. The
same objects run on CPU (inside :class:`imbsk.sampling.AugmentedOverSampler`) and on GPU (inside a
classifier during training): everything follows the device of ``x`` and nothing is copied to the host.

Calling convention
------------------
``aug(x, generator=None) -> Tensor`` with the shape, dtype and device of ``x``. Code that runs a user's
augmentation goes through :func:`call_augmentation`, which also accepts a plain ``aug(x)`` (a
torchvision transform, a function without a ``generator`` parameter) and checks what comes back.

- ``uint8`` input is treated as pixel values in ``[0, 255]``: the work is done in ``float32`` and the
  result is rounded and clamped back to ``uint8``.
- Floating input is processed in its own dtype and returned unclamped, so any value convention works
  (``[0, 1]``, ``[0, 255]``, standardised). Geometric transforms and blurs are convex combinations of
  input values (plus the fill value ``0`` outside the image) and stay inside the input's range;
  :class:`ColorJitter` and :class:`UnsharpMask` can leave it.
- ``generator`` is an optional :class:`torch.Generator` on ``x``'s device; the same generator state
  gives the same output.

Each augmentation is a picklable scikit-learn style object (``get_params`` / ``set_params``, readable
``repr``) and has a probability ``p`` of acting on each image independently. :class:`Compose` chains
them; :func:`default_augmentation` returns the presets used for over-sampling; :func:`augment_array`
runs any of them on a numpy array in chunks.
"""

import inspect
import math
import numbers
import weakref

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

__all__ = [
    "Augmentation",
    "ColorJitter",
    "Compose",
    "GaussianBlur",
    "RandomAffine",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomSingleChannel",
    "UnsharpMask",
    "augment_array",
    "call_augmentation",
    "default_augmentation",
    "get_augmentation",
]

_PRESETS = ("default", "light", "geometric", "channels", "strong")


def _uniform(n, low, high, generator, like):
    """``n`` draws from U(low, high) on ``like``'s device and float dtype."""
    u = torch.rand(n, generator=generator, device=like.device, dtype=like.dtype)
    return low + (high - low) * u


def _coin(n, p, generator, like):
    """Per-sample Bernoulli(p) mask; drawn even when p is 0 or 1 so that the random stream, and hence
    the output for a given seed, does not depend on ``p``."""
    return torch.rand(n, generator=generator, device=like.device) < p


def _range(value, name, center=0.0, lower=None):
    """``v`` -> ``(center - v, center + v)``; a pair is returned as given (after checks)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{name} must be >= 0 when a single number; got {name}={value!r}.")
        low, high = center - value, center + value
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, numbers.Real) for v in value):
        low, high = float(value[0]), float(value[1])
        if low > high:
            raise ValueError(f"{name} must be (low, high) with low <= high; got {name}={value!r}.")
    else:
        raise ValueError(f"{name} must be a non-negative number or a (low, high) pair; got {name}={value!r}.")
    if lower is not None:
        low = max(low, lower)
    return float(low), float(high)


def _check_p(p, name="p"):
    if not (isinstance(p, numbers.Real) and not isinstance(p, bool) and 0 <= p <= 1):
        raise ValueError(f"{name} must be a probability in [0, 1]; got {name}={p!r}.")
    return float(p)


def _check_images(x):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"Augmentations take a torch.Tensor of shape (N, C, H, W); got {type(x).__name__}.")
    if x.ndim != 4:
        raise ValueError(f"Augmentations take images of shape (N, C, H, W); got a tensor of shape {tuple(x.shape)}.")
    if not (x.dtype == torch.uint8 or x.is_floating_point()):
        raise ValueError(f"Augmentations take uint8 or floating tensors; got dtype {x.dtype}.")


def _to_work(x):
    return x.to(torch.float32) if x.dtype == torch.uint8 else x


def _from_work(x, dtype):
    if dtype == torch.uint8:
        return x.round_().clamp_(0, 255).to(torch.uint8)
    return x


def _work_like(dtype, device):
    """An empty tensor with the dtype and device the work on images of ``dtype`` is done in."""
    return torch.empty(0, dtype=torch.float32 if dtype == torch.uint8 else dtype, device=device)


def _take(draws, index):
    """The draws of the images ``index`` (a slice) out of the draws of a whole batch.

    Draws are tensors whose first axis runs over the images, nested in tuples with anything else
    (names, transforms, ``None``), which is kept as it is.
    """
    if isinstance(draws, torch.Tensor):
        return draws[index]
    if isinstance(draws, tuple):
        return tuple(_take(d, index) for d in draws)
    return draws


class Augmentation(BaseEstimator):
    """Base class: validates the batch, draws the random parameters, converts uint8 to float and back.

    Subclasses implement two steps. ``_draw(n, c, h, w, generator, like)`` validates the
    hyper-parameters and draws everything random for ``n`` images of shape ``(c, h, w)`` on ``like``'s
    device and dtype: tensors whose first axis runs over the images, nested in tuples. ``_run(x, draws,
    inplace=False)`` applies them to a floating batch; it may write into ``x`` only when ``inplace`` is
    true, which callers set when ``x`` is a temporary of their own (a caller's floating tensor is passed
    straight through and must be left alone). Keeping the two apart lets :func:`augment_array` draw
    once for a whole array and apply the draws chunk by chunk: the hundreds of tiny operations of the
    drawing are then paid once, not once per chunk.
    """

    def __call__(self, x, generator=None):
        """Augment a batch.

        Parameters
        ----------
        x : torch.Tensor of shape (N, C, H, W), uint8 or floating
            Images; left unchanged.
        generator : torch.Generator, default=None
            Random generator on ``x``'s device; ``None`` uses torch's global generator.

        Returns
        -------
        torch.Tensor
            Augmented images with the shape, dtype and device of ``x``.
        """
        _check_images(x)
        if x.shape[0] == 0:
            return x.clone()
        return self._augment(x, self._draw(*x.shape, generator, _work_like(x.dtype, x.device)))

    def _augment(self, x, draws):
        work = _to_work(x)
        out = self._run(work, draws, inplace=work is not x)
        # A transform that leaves the batch alone may hand it back; never return the caller's tensor.
        return out.clone() if out is x else _from_work(out, x.dtype)

    def _apply(self, x, generator, inplace=False):
        """Draw for the floating batch ``x`` and apply: both steps at once."""
        return self._run(x, self._draw(*x.shape, generator, x), inplace=inplace)

    def _draw(self, n, c, h, w, generator, like):  # pragma: no cover - abstract
        raise NotImplementedError

    def _run(self, x, draws, inplace=False):  # pragma: no cover - abstract
        raise NotImplementedError


class _Geometric(Augmentation):
    """A transform that is a per-image affine map of pixel coordinates.

    ``_maps`` returns (N, 2, 3) matrices ``M`` in pixel units about the image centre: the output pixel at
    ``q`` reads the input at ``M [q; 1]``. :class:`Compose` multiplies the maps of consecutive geometric
    transforms and resamples once, which is faster and interpolates once instead of several times.
    """

    _mode = "nearest"
    padding_mode = "zeros"

    def _draw(self, n, c, h, w, generator, like):  # pragma: no cover - abstract
        raise NotImplementedError

    def _run(self, x, maps, inplace=False):
        return _resample(x, maps, self._mode, self.padding_mode)


def _check_padding_mode(mode):
    if mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"padding_mode must be 'zeros', 'border' or 'reflection'; got padding_mode={mode!r}.")


def _resample(x, maps, mode, padding_mode):
    """One ``affine_grid`` + ``grid_sample`` call for pixel-unit maps (see :class:`_Geometric`)."""
    _check_padding_mode(padding_mode)
    h, w = x.shape[-2:]
    # Pixel coordinates about the centre -> grid_sample's [-1, 1] with align_corners=False: x_n = x * 2 / w.
    scale = torch.tensor([[1.0, h / w, 2.0 / w], [w / h, 1.0, 2.0 / h]], dtype=x.dtype, device=x.device)
    theta = maps * scale
    # affine_grid's batched (H*W, 3) @ (3, 2) products cost as much as the sampling itself on CPU; the same
    # grid from broadcast multiply-adds is several times cheaper.
    xs = (torch.arange(w, device=x.device, dtype=x.dtype) * 2 + 1) / w - 1
    ys = (torch.arange(h, device=x.device, dtype=x.dtype) * 2 + 1) / h - 1
    # Built as (N, 2, H, W) planes and handed over as an (N, H, W, 2) view: broadcasting along a last
    # axis of length 2 is several times slower than along W, and grid_sample reads the view as fast.
    grid = theta[:, :, 0, None, None] * xs + (theta[:, :, 1, None, None] * ys[:, None] + theta[:, :, 2, None, None])
    return F.grid_sample(x, grid.permute(0, 2, 3, 1), mode=mode, padding_mode=padding_mode, align_corners=False)


def _compose_maps(first, then):
    """Map of ``first`` followed by ``then``: the output reads ``then``'s input, which reads ``first``'s."""
    lin = first[:, :, :2] @ then[:, :, :2]
    shift = first[:, :, :2] @ then[:, :, 2:] + first[:, :, 2:]
    return torch.cat([lin, shift], dim=2)


def _identity_maps(n, like):
    eye = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=like.dtype, device=like.device)
    return eye.expand(n, 2, 3)


class Compose(Augmentation):
    """Apply augmentations one after the other.

    The uint8 -> float -> uint8 conversion is done once for the whole chain, so intermediate results
    are not rounded. Consecutive geometric transforms (:class:`RandomHorizontalFlip`,
    :class:`RandomAffine`, :class:`RandomCrop`) sharing a ``padding_mode`` are merged into one
    resampling of the image (bilinear if any of them is), with the same random draws as when applied
    one by one.

    Parameters
    ----------
    transforms : list of Augmentation
        Applied in order.

    Examples
    --------
    >>> import torch
    >>> from imbsk.augment import Compose, RandomHorizontalFlip, RandomAffine
    >>> aug = Compose([RandomHorizontalFlip(), RandomAffine(degrees=10)])
    >>> x = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    >>> aug(x, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([4, 3, 16, 16])
    """

    def __init__(self, transforms):
        self.transforms = transforms

    def _draw(self, n, c, h, w, generator, like):
        # The plan: ("resample", maps, mode, padding), ("colour", ((transform, draws), ...)) or
        # ("other", transform, draws) steps, with every draw made in the order of the transforms.
        steps = []
        maps, mode, padding = None, "nearest", None
        colour = []  # consecutive colour transforms and their draws
        for t in list(self.transforms) + [None]:
            if t is not None and not isinstance(t, Augmentation):
                raise TypeError(f"Compose takes Augmentation objects; got {t!r}.")
            geometric = isinstance(t, _Geometric)
            t_padding = None if not geometric or isinstance(t, RandomHorizontalFlip) else t.padding_mode
            if maps is not None and not (geometric and (padding is None or t_padding in (None, padding))):
                steps.append(("resample", maps, mode, padding or "zeros"))
                maps, mode, padding = None, "nearest", None
            if colour and not isinstance(t, _Colour):
                steps.append(("colour", tuple(colour)))
                colour = []
            if geometric:
                m = t._draw(n, c, h, w, generator, like)
                maps = m if maps is None else _compose_maps(maps, m)
                mode = "bilinear" if "bilinear" in (mode, t._mode) else "nearest"
                padding = padding or t_padding
            elif isinstance(t, _Colour):
                colour.append((t, t._draw(n, c, h, w, generator, like)))
            elif t is not None:
                steps.append(("other", t, t._draw(n, c, h, w, generator, like)))
        return tuple(steps)

    def _run(self, x, steps, inplace=False):
        for kind, *step in steps:
            if kind == "resample":
                x, inplace = _resample(x, *step), True
            elif kind == "colour":
                maps = None
                for t, draws in step[0]:
                    maps = t._colour_maps(x, maps, draws)
                x, inplace = _apply_colour(x, *maps), True
            else:
                t, draws = step
                out = t._run(x, draws, inplace=inplace)
                inplace, x = inplace or out is not x, out
        return x


class RandomHorizontalFlip(_Geometric):
    """Mirror each image left-right with probability ``p``.

    Parameters
    ----------
    p : float, default=0.5
        Probability that an image is flipped.

    Examples
    --------
    >>> import torch
    >>> from imbsk.augment import RandomHorizontalFlip
    >>> x = torch.arange(4.0).reshape(1, 1, 1, 4)
    >>> RandomHorizontalFlip(p=1.0)(x)
    tensor([[[[3., 2., 1., 0.]]]])
    """

    def __init__(self, p=0.5):
        self.p = p

    def _draw(self, n, c, h, w, generator, like):
        flip = _coin(n, _check_p(self.p), generator, like)
        maps = _identity_maps(n, like).clone()
        maps[:, 0, 0] = torch.where(flip, -1.0, 1.0)
        return maps

    def _run(self, x, maps, inplace=False):
        # Alone, an exact flip is cheaper than resampling.
        return torch.where(maps[:, 0, 0, None, None, None] < 0, x.flip(-1), x)


class RandomAffine(_Geometric):
    """Random rotation, shear, zoom and translation in one ``affine_grid`` / ``grid_sample`` call.

    Each image gets its own angle ``a``, shears ``sx, sy``, zoom ``z`` and shift ``t``; the output pixel
    at ``q`` reads the input at ``A^-1 (q - t)`` with ``A = R(a) Sh(sx, sy) z``, about the image centre
    and in pixel units (so non-square images are not distorted).

    Parameters
    ----------
    degrees : float or (float, float), default=15
        Rotation angle range in degrees; a number ``d`` means ``(-d, d)``.
    translate : float, default=0.1
        Maximum shift as a fraction of width (horizontally) and height (vertically).
    scale : (float, float), default=(0.9, 1.1)
        Zoom factor range; above 1 zooms in.
    shear : float or (float, float), default=10
        Shear angle range in degrees, drawn separately along x and y.
    padding_mode : {"zeros", "border", "reflection"}, default="zeros"
        What is read outside the image (see :func:`torch.nn.functional.grid_sample`).
    interpolation : {"bilinear", "nearest"}, default="bilinear"
        Sampling mode.
    p : float, default=1.0
        Probability that an image is transformed; the others are returned exactly.

    Examples
    --------
    >>> import torch
    >>> from imbsk.augment import RandomAffine
    >>> aug = RandomAffine(degrees=20, shear=5, scale=(0.8, 1.2))
    >>> x = torch.randint(0, 256, (8, 3, 12, 12), dtype=torch.uint8)
    >>> y = aug(x, generator=torch.Generator().manual_seed(0))
    >>> y.dtype, y.shape
    (torch.uint8, torch.Size([8, 3, 12, 12]))
    """

    def __init__(
        self, degrees=15, translate=0.1, scale=(0.9, 1.1), shear=10, padding_mode="zeros", interpolation="bilinear",
        p=1.0,
    ):
        self.degrees = degrees
        self.translate = translate
        self.scale = scale
        self.shear = shear
        self.padding_mode = padding_mode
        self.interpolation = interpolation
        self.p = p

    @property
    def _mode(self):
        if self.interpolation not in ("bilinear", "nearest"):
            raise ValueError(
                f"interpolation must be 'bilinear' or 'nearest'; got interpolation={self.interpolation!r}."
            )
        return self.interpolation

    def _draw(self, n, c, h, w, generator, like):
        deg_lo, deg_hi = _range(self.degrees, "degrees")
        sh_lo, sh_hi = _range(self.shear, "shear")
        z_lo, z_hi = _range(self.scale, "scale")
        if z_lo <= 0:
            raise ValueError(f"scale must be positive; got scale={self.scale!r}.")
        if not (isinstance(self.translate, numbers.Real) and 0 <= self.translate <= 1):
            raise ValueError(f"translate must be a fraction in [0, 1]; got translate={self.translate!r}.")
        _check_padding_mode(self.padding_mode)
        p = _check_p(self.p)
        a = torch.deg2rad(_uniform(n, deg_lo, deg_hi, generator, like))
        sx = torch.tan(torch.deg2rad(_uniform(n, sh_lo, sh_hi, generator, like)))
        sy = torch.tan(torch.deg2rad(_uniform(n, sh_lo, sh_hi, generator, like)))
        z = _uniform(n, z_lo, z_hi, generator, like)
        tx = _uniform(n, -self.translate, self.translate, generator, like) * w
        ty = _uniform(n, -self.translate, self.translate, generator, like) * h
        apply = _coin(n, p, generator, like)

        cos, sin = torch.cos(a), torch.sin(a)
        # A = R @ [[1, sx], [sy, 1]] * z, written out to stay batched.
        a11 = (cos - sin * sy) * z
        a12 = (cos * sx - sin) * z
        a21 = (sin + cos * sy) * z
        a22 = (sin * sx + cos) * z
        det = a11 * a22 - a12 * a21
        i11, i12, i21, i22 = a22 / det, -a12 / det, -a21 / det, a11 / det
        b1 = -(i11 * tx + i12 * ty)
        b2 = -(i21 * tx + i22 * ty)
        maps = torch.stack([torch.stack([i11, i12, b1], dim=-1), torch.stack([i21, i22, b2], dim=-1)], dim=1)
        return torch.where(apply[:, None, None], maps, _identity_maps(n, like))


class RandomCrop(_Geometric):
    """Pad every side by ``padding`` pixels and crop a random window of the original size.

    Equivalently, shift each image by a random whole number of pixels in ``[-padding, padding]`` along
    each axis.

    Parameters
    ----------
    padding : int, default=4
        Pixels added on each side; the largest shift.
    padding_mode : {"zeros", "border", "reflection"}, default="zeros"
        How the uncovered border is filled: 0, the nearest edge pixel, or a mirror image.
    p : float, default=1.0
        Probability that an image is shifted.

    Examples
    --------
    >>> import torch
    >>> from imbsk.augment import RandomCrop
    >>> x = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8)
    >>> RandomCrop(padding=2)(x, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([5, 3, 8, 8])
    """

    def __init__(self, padding=4, padding_mode="zeros", p=1.0):
        self.padding = padding
        self.padding_mode = padding_mode
        self.p = p

    def _draw(self, n, c, h, w, generator, like):
        pad = self.padding
        if not (isinstance(pad, numbers.Integral) and not isinstance(pad, bool) and pad >= 0):
            raise ValueError(f"padding must be a non-negative int; got padding={pad!r}.")
        _check_padding_mode(self.padding_mode)
        p = _check_p(self.p)
        shift = torch.randint(-pad, pad + 1, (n, 2), generator=generator, device=like.device).to(like.dtype)
        apply = _coin(n, p, generator, like)
        maps = _identity_maps(n, like).clone()
        maps[:, :, 2] = torch.where(apply[:, None], shift, 0.0)
        return maps


def _gaussian_weights(sigma, radius):
    """(N,) sigmas -> (N, 2 * radius + 1) normalised 1-D Gaussian kernels."""
    offsets = torch.arange(-radius, radius + 1, device=sigma.device, dtype=sigma.dtype)
    w = torch.exp(-0.5 * (offsets[None, :] / sigma[:, None]) ** 2)
    return w / w.sum(dim=1, keepdim=True)


def _blur_matrices(weights, size):
    """(N, k) kernels -> (N, size, size) matrices ``B`` with ``(B v)[i] = sum_t w[t] v[refl(i + t - k // 2)]``.

    Reflect padding (``d c b | a b c d | c b a``) is folded into the matrix, so blurring a length-``size``
    axis is one small matrix product per image; ``k // 2`` must be below ``size``.
    """
    n, k = weights.shape
    r = k // 2
    pos = torch.arange(size, device=weights.device)[:, None] + torch.arange(-r, r + 1, device=weights.device)
    pos = pos.abs()
    pos = torch.where(pos > size - 1, 2 * (size - 1) - pos, pos)
    matrices = torch.zeros(n, size, size, dtype=weights.dtype, device=weights.device)
    return matrices.scatter_add_(2, pos.expand(n, size, k), weights[:, None, :].expand(n, size, k))


def _separable_blur(x, weights):
    """Blur each image with its own 1-D kernel (``weights`` (N, k)), or all with one ((1, k)), along W then H.

    Each pass is a product with a banded (size x size) matrix: a few BLAS calls whatever the kernel
    size, instead of one full pass over the batch per kernel tap.
    """
    n, c, h, w = x.shape
    along_w = _blur_matrices(weights, w)
    along_h = along_w if h == w else _blur_matrices(weights, h)
    if len(weights) == 1:
        # One kernel for all: the W pass is then a single (N*C*H, W) @ (W, W) product, which runs faster
        # than N small ones (unsharp mask on 150 images, 2 threads: 1.2 ms against 1.5 ms in all).
        return torch.matmul(along_h[0], torch.matmul(x, along_w[0].T))
    out = torch.bmm(x.reshape(n, c * h, w), along_w.transpose(1, 2))
    # Along H, each channel is multiplied from the left. Repeating the (H, H) matrix for every channel
    # writes C * H * H values, fewer than moving the image to (N, H, C * W) and back would.
    return torch.bmm(along_h.repeat_interleave(c, dim=0), out.reshape(n * c, h, w)).reshape(n, c, h, w)


def _where_applied(x, apply, func, inplace=False):
    """``func`` on the images where ``apply`` is set, ``x`` elsewhere (written into ``x`` if ``inplace``).

    On CPU only the selected images are computed; on other devices the whole batch is, because selecting
    a data-dependent subset would wait for the device.
    """
    if x.device.type != "cpu":
        return torch.where(apply[:, None, None, None], func(x, slice(None)), x)
    idx = apply.nonzero().squeeze(1)
    out = x if inplace else x.clone()
    if len(idx):
        out.index_copy_(0, idx, func(x.index_select(0, idx), idx))
    return out


def _blur_radius(sigma_max, h, w):
    # reflect padding needs radius < size; a radius of 3 sigma keeps > 99% of the Gaussian's mass.
    return int(max(1, min(math.ceil(3 * sigma_max), h - 1, w - 1)))


class GaussianBlur(Augmentation):
    """Gaussian blur with a per-image standard deviation.

    Parameters
    ----------
    sigma : float or (float, float), default=(0.1, 1.5)
        Standard deviation range in pixels (a number means that fixed value).
    p : float, default=0.5
        Probability that an image is blurred.

    Examples
    --------
    >>> import torch
    >>> from imbsk.augment import GaussianBlur
    >>> x = torch.rand(2, 3, 10, 10)
    >>> y = GaussianBlur(sigma=1.0, p=1.0)(x)
    >>> bool(y.std() < x.std())
    True
    """

    def __init__(self, sigma=(0.1, 1.5), p=0.5):
        self.sigma = sigma
        self.p = p

    def _draw(self, n, c, h, w, generator, like):
        lo, hi = (float(self.sigma),) * 2 if isinstance(self.sigma, numbers.Real) else _range(self.sigma, "sigma")
        if lo <= 0:
            raise ValueError(f"sigma must be positive; got sigma={self.sigma!r}.")
        p = _check_p(self.p)
        if min(h, w) < 2:
            return None
        sigma = _uniform(n, lo, hi, generator, like)
        apply = _coin(n, p, generator, like)
        return _gaussian_weights(sigma, _blur_radius(hi, h, w)), apply

    def _run(self, x, draws, inplace=False):
        if draws is None:
            return x
        weights, apply = draws
        return _where_applied(x, apply, lambda xs, idx: _separable_blur(xs, weights[idx]), inplace)


class UnsharpMask(Augmentation):
    """Sharpen: ``x + amount * (x - blur(x))`` with a per-image ``amount``.

    Parameters
    ----------
    amount : float or (float, float), default=(0.5, 1.5)
        Strength range (a number means that fixed value).
    sigma : float, default=1.0
        Standard deviation of the blur that defines the detail layer, in pixels.
    p : float, default=0.5
        Probability that an image is sharpened.

    Examples
    --------
    >>> import torch
    >>> from imbsk.augment import UnsharpMask
    >>> x = torch.randint(0, 256, (2, 1, 8, 8), dtype=torch.uint8)
    >>> UnsharpMask(p=1.0)(x).dtype
    torch.uint8
    """

    def __init__(self, amount=(0.5, 1.5), sigma=1.0, p=0.5):
        self.amount = amount
        self.sigma = sigma
        self.p = p

    def _draw(self, n, c, h, w, generator, like):
        lo, hi = (float(self.amount),) * 2 if isinstance(self.amount, numbers.Real) else _range(self.amount, "amount")
        if not (isinstance(self.sigma, numbers.Real) and self.sigma > 0):
            raise ValueError(f"sigma must be a positive number; got sigma={self.sigma!r}.")
        p = _check_p(self.p)
        if min(h, w) < 2:
            return None
        return _uniform(n, lo, hi, generator, like), _coin(n, p, generator, like)

    def _run(self, x, draws, inplace=False):
        if draws is None:
            return x
        amount, apply = draws
        amount = amount[:, None, None, None]
        h, w = x.shape[-2:]
        sigma = torch.full((1,), float(self.sigma), device=x.device, dtype=x.dtype)
        weights = _gaussian_weights(sigma, _blur_radius(self.sigma, h, w))

        def sharpen(xs, idx):
            # lerp(blur, x, 1 + a) = x + a (x - blur) in one pass.
            return torch.lerp(_separable_blur(xs, weights), xs, 1 + amount[idx])

        return _where_applied(x, apply, sharpen, inplace)


def _apply_colour(x, matrix, offset):
    """``out[n, :, i, j] = matrix[n] @ x[n, :, i, j] + offset[n]`` in one batched product."""
    n, c = x.shape[:2]
    return torch.baddbmm(offset[:, :, None], matrix, x.reshape(n, c, -1)).reshape(x.shape)


class _Colour(Augmentation):
    """A transform that is a per-image affine map of the channel values, ``M x + o`` at every pixel.

    ``_maps(draws, means, like)`` turns the draws into the (N, C, C) matrices and (N, C) offsets;
    ``means()`` returns the (N, C) channel means of the input for transforms that need them.
    :class:`Compose` multiplies the maps of consecutive colour transforms and makes one pass over the
    pixels.
    """

    def _maps(self, draws, means, like):  # pragma: no cover - abstract
        raise NotImplementedError

    def _colour_maps(self, x, previous, draws):
        """This transform's maps composed after ``previous`` (None or the pending (matrix, offset))."""

        def means():
            m = x.mean(dim=(-2, -1))
            if previous is None:
                return m
            # The maps are affine, so the means of their output follow from the means of their input.
            return (previous[0] @ m[:, :, None]).squeeze(2) + previous[1]

        matrix, offset = self._maps(draws, means, x)
        if previous is None:
            return matrix, offset
        return matrix @ previous[0], (matrix @ previous[1][:, :, None]).squeeze(2) + offset

    def _run(self, x, draws, inplace=False):
        return _apply_colour(x, *self._colour_maps(x, None, draws))


def _identity_colour(n, c, like):
    return torch.eye(c, dtype=like.dtype, device=like.device).expand(n, c, c), like.new_zeros(n, c)


class RandomSingleChannel(_Colour):
    """Keep one randomly chosen channel of each image; zero the others or copy the kept one into them.

    With ``mode="replicate"`` an RGB image becomes a grey image made of its red, green or blue plane;
    with ``mode="zero"`` it becomes a pure red, green or blue image.

    Parameters
    ----------
    mode : {"zero", "replicate"}, default="replicate"
        What happens to the channels that are not kept.
    p : float, default=0.5
        Probability that an image is changed.

    Examples
    --------
    >>> import torch
    >>> from imbsk.augment import RandomSingleChannel
    >>> x = torch.arange(3.0).reshape(1, 3, 1, 1).expand(1, 3, 2, 2)
    >>> y = RandomSingleChannel(mode="replicate", p=1.0)(x, torch.Generator().manual_seed(0))
    >>> bool((y == y[:, :1]).all())
    True
    """

    def __init__(self, mode="replicate", p=0.5):
        self.mode = mode
        self.p = p

    def _draw(self, n, c, h, w, generator, like):
        if self.mode not in ("zero", "replicate"):
            raise ValueError(f"mode must be 'zero' or 'replicate'; got mode={self.mode!r}.")
        keep = torch.randint(0, c, (n,), generator=generator, device=like.device)
        apply = _coin(n, _check_p(self.p), generator, like)
        onehot = F.one_hot(keep, c).to(like.dtype)
        # "zero" keeps channel k in place (diag(e_k)); "replicate" copies it into every row (1 e_k^T).
        matrix = torch.diag_embed(onehot) if self.mode == "zero" else onehot[:, None, :].expand(n, c, c)
        eye, _ = _identity_colour(n, c, like)
        return torch.where(apply[:, None, None], matrix, eye)

    def _maps(self, matrix, means, like):
        return matrix, like.new_zeros(matrix.shape[:2])


class ColorJitter(_Colour):
    """Random brightness, contrast and saturation, applied in that order.

    Brightness multiplies the image by ``f``; contrast and saturation blend it with its mean grey level
    and its grey version (ITU-R 601 weights; only for 3-channel images) by ``f``. Each ``f`` is drawn
    from ``[max(0, 1 - v), 1 + v]``. No value range is assumed; uint8 output is clamped to [0, 255].

    Parameters
    ----------
    brightness, contrast, saturation : float, default=0.2
        Strength ``v`` of each change; 0 turns it off.
    p : float, default=1.0
        Probability that an image is changed.

    Examples
    --------
    >>> import torch
    >>> from imbsk.augment import ColorJitter
    >>> x = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    >>> ColorJitter(brightness=0.5)(x, torch.Generator().manual_seed(0)).shape
    torch.Size([4, 3, 8, 8])
    """

    def __init__(self, brightness=0.2, contrast=0.2, saturation=0.2, p=1.0):
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.p = p

    def _draw(self, n, c, h, w, generator, like):
        factors = []
        for name in ("brightness", "contrast", "saturation"):
            lo, hi = _range(getattr(self, name), name, center=1.0, lower=0.0)
            factors.append(_uniform(n, lo, hi, generator, like))
        fb, fc, fs = factors
        apply = _coin(n, _check_p(self.p), generator, like)
        if c != 3:
            fs = torch.ones_like(fs)  # saturation needs colour channels
        # The three steps are linear in the colours, so they collapse into one per-image c x c matrix and
        # offset (one pass over the pixels instead of six):
        #   out = fc fb (fs x + (1 - fs) gray(x)) + (1 - fc) fb mean(gray(x)).
        # Only the offset depends on the image (through its mean grey level), so the matrix is drawn
        # here and the offset's factor kept for ``_maps``.
        gray_w = _gray_weights(c, like)
        eye, _ = _identity_colour(n, c, like)
        matrix = (fc * fb)[:, None, None] * (fs[:, None, None] * eye + (1 - fs)[:, None, None] * gray_w[None, None, :])
        matrix = torch.where(apply[:, None, None], matrix, eye)
        return matrix, torch.where(apply, (1 - fc) * fb, 0.0)

    def _maps(self, draws, means, like):
        matrix, mean_factor = draws
        mean_gray = (means() * _gray_weights(matrix.shape[1], like)).sum(dim=1)
        return matrix, (mean_factor * mean_gray)[:, None].expand(matrix.shape[:2])


def _gray_weights(c, like):
    """ITU-R 601 luma weights for RGB, equal weights for any other number of channels."""
    if c == 3:
        return torch.tensor([0.299, 0.587, 0.114], dtype=like.dtype, device=like.device)
    return torch.full((c,), 1.0 / c, dtype=like.dtype, device=like.device)


def default_augmentation(preset="default"):
    """Augmentations for over-sampling images with :class:`~imbsk.sampling.AugmentedOverSampler`.

    Parameters
    ----------
    preset : {"default", "light", "geometric", "channels", "strong"}, default="default"
        - ``"default"``: flip, rotation/shear/zoom/shift, mild colour jitter, occasional blur or sharpening;
        - ``"light"``: flip and 4-pixel random crop (the usual CIFAR training augmentation);
        - ``"geometric"``: flip and a stronger rotation/shear/zoom;
        - ``"channels"``: single-channel copies, blur and sharpening;
        - ``"strong"``: everything above.

    Returns
    -------
    Compose

    Examples
    --------
    >>> from imbsk.augment import default_augmentation
    >>> aug = default_augmentation("light")
    >>> [type(t).__name__ for t in aug.transforms]
    ['RandomHorizontalFlip', 'RandomCrop']
    """
    if preset == "default":
        return Compose([
            RandomHorizontalFlip(),
            RandomAffine(degrees=15, translate=0.1, scale=(0.9, 1.1), shear=10, padding_mode="reflection"),
            ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2),
            GaussianBlur(sigma=(0.3, 1.0), p=0.2),
            UnsharpMask(amount=(0.5, 1.5), p=0.2),
        ])
    if preset == "light":
        return Compose([RandomHorizontalFlip(), RandomCrop(padding=4)])
    if preset == "geometric":
        return Compose([
            RandomHorizontalFlip(),
            RandomAffine(degrees=30, translate=0.1, scale=(0.8, 1.2), shear=20, padding_mode="reflection"),
        ])
    if preset == "channels":
        return Compose([
            RandomSingleChannel(mode="replicate", p=0.5),
            GaussianBlur(sigma=(0.5, 1.5), p=0.5),
            UnsharpMask(amount=(0.5, 2.0), p=0.5),
        ])
    if preset == "strong":
        return Compose([
            RandomHorizontalFlip(),
            RandomAffine(degrees=30, translate=0.1, scale=(0.8, 1.2), shear=20, padding_mode="reflection"),
            RandomCrop(padding=2, padding_mode="reflection"),
            ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3),
            RandomSingleChannel(mode="replicate", p=0.2),
            GaussianBlur(sigma=(0.3, 1.5), p=0.3),
            UnsharpMask(amount=(0.5, 2.0), p=0.3),
        ])
    raise ValueError(f"preset must be one of {_PRESETS}; got preset={preset!r}.")


def get_augmentation(augmentation):
    """Resolve an ``augmentation`` argument: a preset name of :func:`default_augmentation`, or a callable.

    Parameters
    ----------
    augmentation : str or callable
        A preset name, or an augmentation (any callable ``f(x, generator=None)`` or ``f(x)``; see
        :func:`call_augmentation`), returned as is.

    Returns
    -------
    augmentation : callable
    """
    if isinstance(augmentation, str):
        return default_augmentation(augmentation)
    if not callable(augmentation):
        raise ValueError(f"augmentation must be an Augmentation, a preset name or None; got {augmentation!r}.")
    return augmentation


# Whether a callable takes ``generator``, per callable: signatures are read once, not once per batch. Weak keys,
# so that the cache keeps no augmentation (or the module or closure it holds) alive.
_TAKES_GENERATOR = weakref.WeakKeyDictionary()


def _accepts_generator(augmentation):
    """Whether ``augmentation`` declares a ``generator`` parameter that can be passed by keyword.

    A ``**kwargs`` catch-all does not count: wrappers such as :class:`torch.nn.Module` forward everything
    to a ``forward`` that may not take it. For a module, ``forward`` is inspected instead.
    """
    try:
        return _TAKES_GENERATOR[augmentation]
    except (KeyError, TypeError):  # not seen yet, or not weak-referenceable
        pass
    target = augmentation.forward if isinstance(augmentation, torch.nn.Module) else augmentation
    try:
        parameter = inspect.signature(target).parameters.get("generator")
    except (TypeError, ValueError):  # no signature to read (some builtins): call it the plain way
        parameter = None
    takes = parameter is not None and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    try:
        _TAKES_GENERATOR[augmentation] = takes
    except TypeError:
        pass
    return takes


def _describe(augmentation):
    name = getattr(augmentation, "__qualname__", None) or getattr(augmentation, "__name__", None)
    if name is None:
        text = repr(augmentation)
        name = text if len(text) <= 80 and "\n" not in text else type(augmentation).__name__
    return name


def call_augmentation(augmentation, x, generator=None):
    """Run a user's augmentation on the batch ``x`` and check that it returned a batch like ``x``.

    The one calling convention of the package: ``augmentation(x, generator=generator)`` when the callable
    declares a ``generator`` parameter (every :class:`Augmentation` does), ``augmentation(x)``
    otherwise, so that a function of ``x`` alone or a torchvision transform works too. Such a callable
    draws from torch's global random generator, not from ``generator``.

    Parameters
    ----------
    augmentation : callable
        ``f(x, generator=None)`` or ``f(x)``, returning a tensor with the shape, dtype and device of
        ``x``.
    x : torch.Tensor
        The batch, typically ``(N, C, H, W)``; passed as it is.
    generator : torch.Generator, default=None
        Passed on when ``augmentation`` takes it.

    Returns
    -------
    torch.Tensor
        What ``augmentation`` returned.

    Raises
    ------
    TypeError
        If the result is not a tensor.
    ValueError
        If its shape, dtype or device differs from those of ``x``.

    Examples
    --------
    >>> import torch
    >>> from imbsk.augment import RandomHorizontalFlip, call_augmentation
    >>> x = torch.arange(4.0).reshape(1, 1, 1, 4)
    >>> call_augmentation(RandomHorizontalFlip(p=1.0), x, torch.Generator().manual_seed(0)).flatten().tolist()
    [3.0, 2.0, 1.0, 0.0]
    >>> call_augmentation(lambda x: x.flip(-1), x).flatten().tolist()
    [3.0, 2.0, 1.0, 0.0]
    """
    if _accepts_generator(augmentation):
        out = augmentation(x, generator=generator)
    else:
        out = augmentation(x)
    if not isinstance(out, torch.Tensor):
        raise TypeError(
            f"augmentation {_describe(augmentation)} must return a torch.Tensor like its input; "
            f"it returned {type(out).__name__}."
        )
    got = (tuple(out.shape), out.dtype, out.device)
    expected = (tuple(x.shape), x.dtype, x.device)
    if got != expected:
        raise ValueError(
            f"augmentation {_describe(augmentation)} must return a tensor with the shape, dtype and device of its "
            f"input, {expected[0]}, {expected[1]}, {expected[2]}; it returned {got[0]}, {got[1]}, {got[2]}."
        )
    return out


def _call_seeded(augmentation, x, generator):
    """:func:`call_augmentation`, with a callable of ``x`` alone made to follow ``generator`` on the CPU.

    Such a callable draws from torch's global generator; seeding that from ``generator`` for the one call
    (and restoring it afterwards) keeps the promise that the same ``random_state`` gives the same output
    and leaves the caller's global random stream as it was. On other devices it draws unseeded.
    """
    if generator is None or x.device.type != "cpu" or _accepts_generator(augmentation):
        return call_augmentation(augmentation, x, generator)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        return call_augmentation(augmentation, x, generator)


def torch_generator(random_state, device="cpu"):
    """A :class:`torch.Generator` on ``device`` seeded from a numpy ``random_state`` (int, RandomState or None).

    A RandomState instance is advanced by one draw, as scikit-learn estimators do when they derive seeds.
    """
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    return torch.Generator(device=torch.device(device)).manual_seed(seed)


def augment_array(X, augmentation=None, random_state=None, batch_size=512, device="cpu"):
    """Augment a numpy image array in chunks and return a new array of the same shape and dtype.

    Parameters
    ----------
    X : ndarray of shape (N, C, H, W) or (N, H, W), uint8 or floating
        Images; not modified. ``(N, H, W)`` is treated as single-channel.
    augmentation : Augmentation, str or callable, default=None
        An augmentation object, a preset name of :func:`default_augmentation`, any callable
        :func:`call_augmentation` accepts, or ``None`` for ``default_augmentation()``.
    random_state : int, RandomState instance or None, default=None
        Seeds the torch generator; the same seed gives the same output. For an :class:`Augmentation`
        the random parameters of all images are drawn at once, so the output is the same whatever
        ``batch_size`` is, and the same as one call on the whole array with
        ``torch_generator(random_state)``; another callable is called once per chunk.
    batch_size : int, default=512
        Images per vectorised call. On CPU, batches small enough for the float temporaries to stay in
        the cache are faster than one huge batch (for 32x32 images on 2 cores 512 was fastest, 1.2x
        256 and 1024; ``benchmarks/results/augment.md``); on a GPU larger batches pay off.
    device : str or torch.device, default="cpu"
        Where the work is done.

    Returns
    -------
    ndarray
        Augmented copy of ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from imbsk.augment import augment_array
    >>> X = np.random.RandomState(0).randint(0, 256, (6, 3, 16, 16)).astype(np.uint8)
    >>> Xa = augment_array(X, "default", random_state=0)
    >>> Xa.shape, Xa.dtype
    ((6, 3, 16, 16), dtype('uint8'))
    """
    X = np.asarray(X)
    if X.ndim not in (3, 4):
        raise ValueError(f"X must be images of shape (N, C, H, W) or (N, H, W); got shape {X.shape}.")
    if not (X.dtype == np.uint8 or np.issubdtype(X.dtype, np.floating)):
        raise ValueError(f"X must be uint8 or floating; got dtype {X.dtype}.")
    if not (isinstance(batch_size, numbers.Integral) and batch_size > 0):
        raise ValueError(f"batch_size must be a positive int; got batch_size={batch_size!r}.")
    augmentation = get_augmentation("default" if augmentation is None else augmentation)
    generator = torch_generator(random_state, device=device)
    squeeze = X.ndim == 3
    images = X[:, None] if squeeze else X
    out = np.empty_like(images)
    draws = None
    if isinstance(augmentation, Augmentation):
        # One draw for the whole array: the parameter draws are hundreds of tiny operations, as costly
        # per chunk as the image work on small images.
        like = _work_like(torch.from_numpy(np.empty(0, dtype=images.dtype)).dtype, torch.device(device))
        draws = augmentation._draw(*images.shape, generator, like)
    for start in range(0, len(images), batch_size):
        chunk = torch.as_tensor(np.ascontiguousarray(images[start:start + batch_size]), device=device)
        if draws is None:
            chunk = _call_seeded(augmentation, chunk, generator)
        else:
            chunk = augmentation._augment(chunk, _take(draws, slice(start, start + batch_size)))
        out[start:start + batch_size] = chunk.cpu().numpy()
    return out[:, 0] if squeeze else out
