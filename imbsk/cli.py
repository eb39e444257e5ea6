"""The ``imbsk`` command line: runs the demos.

Examples
--------
::

    imbsk demo toy --out imbsk-demo
    python -m imbsk demo toy --n-samples 2000 --cv 3
"""

import argparse
import sys

from . import __version__


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _ratio(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text!r}") from None
    if not value >= 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text!r}")
    return value


def build_parser():
    """Return the ``argparse`` parser of the ``imbsk`` command."""
    parser = argparse.ArgumentParser(
        prog="imbsk", description="Learning from class-imbalanced data: runnable demos."
    )
    parser.add_argument("--version", action="version", version=f"imbsk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a demo story")
    demos = demo.add_subparsers(dest="demo", required=True)

    toy = demos.add_parser(
        "toy",
        help="toy 2-D tasks vs imbalance ratio, with resampling remedies",
        description="Separable vs overlapping toy tasks at several imbalance ratios: KNN and AdaBoost with "
        "no remedy, random over/under-sampling and SMOTE, 5-fold cross-validated on balanced metrics and "
        "compared with each task's Bayes-optimal balanced accuracy.",
    )
    toy.add_argument("--out", default="imbsk-demo", help="output folder (default: %(default)s)")
    toy.add_argument("--n-samples", type=_positive_int, default=5000, help="samples per data set")
    toy.add_argument("--ratios", type=_ratio, nargs="+", default=[1, 10, 100], help="imbalance ratios")
    toy.add_argument("--cv", type=_positive_int, default=5, help="number of stratified folds")
    toy.add_argument("--random-state", type=int, default=0, help="seed of data, folds and models")
    toy.add_argument("--n-jobs", type=int, default=None, help="parallel jobs of cross_validate")
    toy.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="run the fits on a Dask cluster at ADDRESS (needs the 'dask' extra)",
    )
    toy.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    toy.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    cifar = demos.add_parser(
        "cifar",
        help="CIFAR-10 cat vs dog at 10:1 (or long-tailed): the plain CNN's collapse and the remedies",
        description="Trains a small CNN on CIFAR-10 with one class cut to a tenth, with no remedy and with "
        "replicate/augmented oversampling, balanced batches, class weights, focal and logit-adjusted losses "
        "and post-hoc logit adjustment; scores each on the balanced official test images.",
    )
    cifar.add_argument("--data", required=True, metavar="PATH",
                       help="folder holding CIFAR-10 (cifar-10-batches-py/, cifar-10-python.tar.gz, "
                       "cifar10-jpeg/ or cifar10-jpeg.tar.gz)")
    cifar.add_argument("--out", default="imbsk-demo-cifar", help="output folder (default: %(default)s)")
    cifar.add_argument("--quick", action="store_true",
                       help="a few minutes on 2 CPU cores: a subset at 16x16 pixels, fewer epochs")
    cifar.add_argument("--classes", nargs="+", default=None, metavar="NAME",
                       help="two CIFAR-10 classes (default: cat dog), e.g. airplane automobile")
    cifar.add_argument("--long-tailed", type=_ratio, default=None, metavar="IR",
                       help="train on CIFAR-10-LT with this imbalance ratio instead")
    cifar.add_argument("--ratio", type=_ratio, default=10, help="majority : minority ratio (default: 10)")
    cifar.add_argument("--epochs", type=_positive_int, default=None, help="override the number of epochs")
    cifar.add_argument("--cv", type=int, default=None, help="cross-validation folds (0: none)")
    cifar.add_argument("--random-state", type=int, default=0, help="seed")
    cifar.add_argument("--device", default="auto", help="auto, cpu, cuda, ... (default: auto)")
    cifar.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    cifar.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return parser


def _run_cifar(args):
    from .demos import run_cifar_demo

    if args.cv is not None and (args.cv == 1 or args.cv < 0):
        raise SystemExit(f"imbsk: error: --cv must be 0 or at least 2; got {args.cv}")
    classes = None
    if args.classes is not None:
        classes = [int(c) if c.isdigit() else c for c in args.classes]
    run_cifar_demo(
        args.data, args.out, quick=args.quick, classes=classes, long_tailed=args.long_tailed, ratio=args.ratio,
        max_epochs=args.epochs, cv=args.cv, random_state=args.random_state, device=args.device,
        plots=not args.no_plots, progress=not args.no_progress,
    )
    if args.out:
        print(f"\nwrote the table and figures to {args.out}/")
    return 0


def _run_toy(args):
    from .demos import run_toy_demo

    if args.cv < 2:
        raise SystemExit(f"imbsk: error: --cv must be at least 2; got {args.cv}")
    context = None
    if args.scheduler is not None:
        from .parallel import dask_backend

        context = dask_backend(args.scheduler)
    run_toy_demo(
        args.out, imbalance_ratios=tuple(args.ratios), n_samples=args.n_samples, cv=args.cv,
        random_state=args.random_state, n_jobs=args.n_jobs, parallel_context=context,
        plots=not args.no_plots, progress=not args.no_progress,
    )
    if args.out:
        print(f"\nwrote the table and figures to {args.out}/")
    return 0


def main(argv=None):
    """Entry point of the ``imbsk`` console script.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success.
    """
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo" and args.demo == "toy":
            return _run_toy(args)
        if args.command == "demo" and args.demo == "cifar":
            return _run_cifar(args)
    except (ValueError, FileNotFoundError) as exc:
        # Bad values that pass argparse's own checks (e.g. too few samples for a ratio) are the user's
        # to fix, so they get one line rather than a traceback.
        print(f"imbsk: error: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(f"unhandled command {args}")  # pragma: no cover - argparse requires one


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
