"""Generate augmented CIFAR-sized images: imbsk.augment (batched torch) vs a per-image PIL loop.

Both sides apply the same kinds of transforms to every image: horizontal flip (p=0.5), one affine map
combining rotation (+-30 deg), shear (+-20 deg), zoom (0.8-1.2) and shift (10%), a random crop with 2 px
padding, brightness/contrast/saturation jitter (0.3), a single-channel copy (p=0.2), Gaussian blur
(p=0.3) and unsharp mask (p=0.3) -- imbsk's ``default_augmentation("strong")``.

    python benchmarks/bench_augment.py [--n 4500] [--repeats 5] [--threads 2] [--data ../shared/data]

The sources are 500 CIFAR-10 "dog" training images (seed 000's minority) read with
``imbsk.datasets.load_cifar10`` from ``--data`` (default: ``../shared/data`` beside this checkout, wherever
the script is run from); without the data, random uint8 images of the same shape are used (the timing
does not depend on content).
"""

import argparse
import os
import platform
import random
import statistics
import time

import numpy as np
import torch
from _paths import DEFAULT_DATA
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from imbsk.augment import augment_array, default_augmentation


def load_sources(data, n_sources=500):
    try:
        from imbsk.datasets import load_cifar10

        X, _ = load_cifar10(data, split="train", classes=["dog"])
        return np.ascontiguousarray(X[:n_sources]), f"CIFAR-10 train 'dog' images from {data}"
    except Exception as exc:  # noqa: BLE001 - any failure means: fall back to random images
        rng = np.random.RandomState(0)
        return rng.randint(0, 256, (n_sources, 3, 32, 32)).astype(np.uint8), f"random uint8 images ({exc!r})"


def pil_augment(image, r):
    """One image, the same transforms as default_augmentation('strong'), with PIL."""
    im = Image.fromarray(image)
    if r.random() < 0.5:
        im = ImageOps.mirror(im)
    a = np.deg2rad(r.uniform(-30, 30))
    sx, sy = np.tan(np.deg2rad(r.uniform(-20, 20))), np.tan(np.deg2rad(r.uniform(-20, 20)))
    z = r.uniform(0.8, 1.2)
    tx, ty = r.uniform(-3.2, 3.2), r.uniform(-3.2, 3.2)
    A = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ np.array([[1, sx], [sy, 1]]) * z
    inv = np.linalg.inv(A)
    c = np.array([15.5, 15.5])
    shift = c - inv @ (c + np.array([tx, ty]))
    im = im.transform(im.size, Image.AFFINE, (inv[0, 0], inv[0, 1], shift[0], inv[1, 0], inv[1, 1], shift[1]),
                      resample=Image.BILINEAR)
    im = ImageOps.expand(im, 2)
    x0, y0 = r.randint(0, 4), r.randint(0, 4)
    im = im.crop((x0, y0, x0 + 32, y0 + 32))
    im = ImageEnhance.Brightness(im).enhance(r.uniform(0.7, 1.3))
    im = ImageEnhance.Contrast(im).enhance(r.uniform(0.7, 1.3))
    im = ImageEnhance.Color(im).enhance(r.uniform(0.7, 1.3))
    if r.random() < 0.2:
        ch = im.split()[r.randint(0, 2)]
        im = Image.merge("RGB", (ch, ch, ch))
    if r.random() < 0.3:
        im = im.filter(ImageFilter.GaussianBlur(r.uniform(0.3, 1.5)))
    if r.random() < 0.3:
        im = im.filter(ImageFilter.UnsharpMask(radius=1, percent=int(r.uniform(50, 200)), threshold=0))
    return np.asarray(im)


def run_pil(sources_hwc, indices, seed):
    r = random.Random(seed)
    return np.stack([pil_augment(sources_hwc[i], r) for i in indices])


def run_imbsk(sources, indices, seed, batch_size):
    return augment_array(sources[indices], default_augmentation("strong"), random_state=seed, batch_size=batch_size)


def timed(fn, repeats):
    times = []
    for k in range(repeats):
        start = time.perf_counter()
        fn(k)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def parser_with_common_options(description, repeats=5):
    """The options every augmentation benchmark takes: images, repeats, threads, batch size, data path."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--n", type=int, default=4500)
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="CIFAR-10 folder (default: %(default)s)")
    return parser


def main():
    args = parser_with_common_options(__doc__.splitlines()[0]).parse_args()

    torch.set_num_threads(args.threads)
    sources, origin = load_sources(args.data)
    indices = np.random.RandomState(0).randint(0, len(sources), args.n)
    sources_hwc = np.ascontiguousarray(np.moveaxis(sources, 1, -1))
    run_imbsk(sources, indices[:256], 0, args.batch_size)  # warm-up: first-call allocations and dispatch

    t_pil, all_pil = timed(lambda k: run_pil(sources_hwc, indices, k), args.repeats)
    t_ours, all_ours = timed(lambda k: run_imbsk(sources, indices, k, args.batch_size), args.repeats)

    print(f"images: {args.n} x {sources.shape[1:]} uint8, sources: {origin}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, "
          f"torch {torch.__version__} with {torch.get_num_threads()} threads, batch size {args.batch_size}, "
          f"load average (1 min): {os.getloadavg()[0]:.2f}")
    print()
    print(f"| method | median s (of {args.repeats}) | images/s | speed-up |")
    print("|---|---:|---:|---:|")
    print(f"| PIL, one image at a time | {t_pil:.3f} | {args.n / t_pil:,.0f} | 1.0x |")
    print(f"| imbsk.augment, batched | {t_ours:.3f} | {args.n / t_ours:,.0f} | {t_pil / t_ours:.1f}x |")
    print()
    print("all runs (s): PIL " + ", ".join(f"{t:.3f}" for t in all_pil)
          + "; imbsk " + ", ".join(f"{t:.3f}" for t in all_ours))


if __name__ == "__main__":
    main()
