"""Where ``augment_array`` spends its time: milliseconds per call for each step of the composed chain.

    python benchmarks/bench_augment_stages.py [--preset strong] [--repeats 10] [--threads 2] [--data ../shared/data]

Times ``augment_array`` on 4,500 CIFAR-sized uint8 images (as ``bench_augment.py``, from the same
``--data``, by default ``../shared/data`` beside this checkout) with a timer
around every step of :class:`imbsk.augment.Compose`: drawing the parameters, uint8 -> float, the merged
resampling (flip / affine / crop in one ``grid_sample``), the fused colour pass, each other transform,
and float -> uint8. Prints the mean per ``augment_array`` call and the share of the whole call. The
timers add a little overhead; the whole call is timed too.
"""

import collections
import time

import numpy as np
import torch
from bench_augment import load_sources, parser_with_common_options

import imbsk.augment as A


def instrument(totals, augmentation):
    """Wrap the functions that :class:`~imbsk.augment.Compose` calls for its steps with timers adding
    into ``totals``; ``Compose`` itself runs unchanged."""

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            totals[name] += time.perf_counter() - start
            return out

        return wrapper

    # Compose looks these module functions up when it runs, so replacing them times its steps.
    A._resample = timed("resample (flip/affine/crop)", A._resample)
    A._Colour._colour_maps = timed("colour (maps + one fused pass)", A._Colour._colour_maps)
    A._apply_colour = timed("colour (maps + one fused pass)", A._apply_colour)
    A._to_work = timed("uint8 -> float", A._to_work)
    A._from_work = timed("float -> uint8", A._from_work)
    A.Compose._draw = timed("draw parameters", A.Compose._draw)
    # Transforms that are neither merged into the resampling nor into the colour pass run their own _run.
    for cls in {type(t) for t in augmentation.transforms if not isinstance(t, (A._Geometric, A._Colour))}:
        cls._run = timed(cls.__name__, cls._run)


def main():
    parser = parser_with_common_options(__doc__.splitlines()[0], repeats=10)
    parser.add_argument("--preset", default="strong")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    sources, origin = load_sources(args.data)
    X = sources[np.random.RandomState(0).randint(0, len(sources), args.n)]
    aug = A.default_augmentation(args.preset)
    totals = collections.defaultdict(float)
    instrument(totals, aug)
    for k in range(2):  # warm-up
        A.augment_array(X, aug, random_state=k, batch_size=args.batch_size)
    totals.clear()
    whole = 0.0
    for k in range(args.repeats):
        start = time.perf_counter()
        A.augment_array(X, aug, random_state=k, batch_size=args.batch_size)
        whole += time.perf_counter() - start
    print(f"{args.n} images {X.shape[1:]}, preset {args.preset!r}, batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads, sources: {origin}")
    print()
    print("| step | ms per call | share |")
    print("|---|---:|---:|")
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {1e3 * seconds / args.repeats:.1f} | {100 * seconds / whole:.0f}% |")
    rest = whole - sum(totals.values())
    print(f"| outside the steps (chunking, copies into the output) | {1e3 * rest / args.repeats:.1f} | "
          f"{100 * rest / whole:.0f}% |")
    print(f"| **whole call** | **{1e3 * whole / args.repeats:.1f}** | 100% |")


if __name__ == "__main__":
    main()
