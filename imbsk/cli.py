"""The ``imbsk`` command line: runs the demos.

Examples
--------
::

    imbsk demo toy --out imbsk-demo
    python -m imbsk demo toy --n-samples 2000 --cv 3
"""

import argparse
import math
import sys

from . import __version__
from .datasets import CIFAR10_CLASSES

#: Exit status of a run stopped with Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def _int_at_least(low, what):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_folds = _int_at_least(2, "an integer >= 2 (number of folds)")


def _folds_or_zero(text):
    value = _int_at_least(0, "0 (no cross-validation) or an integer >= 2")(text)
    if value == 1:
        raise argparse.ArgumentTypeError(f"expected 0 (no cross-validation) or an integer >= 2, got {text!r}")
    return value


def _seed(text):
    # numpy seeds, and so StratifiedKFold and the samplers, take 0 .. 2**32 - 1.
    value = _int_at_least(0, "an integer in 0 .. 2**32 - 1")(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"expected an integer in 0 .. 2**32 - 1, got {text!r}")
    return value


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0:
        raise argparse.ArgumentTypeError(
            f"expected a non-zero integer (-1: all cores, -2: all but one), got {text!r}"
        )
    return value


def _ratio(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text!r}") from None
    if not (value >= 1 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number >= 1 (finite), got {text!r}")
    return value


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _cifar_class(text):
    if text in CIFAR10_CLASSES:
        return text
    if text.isdigit() and int(text) < len(CIFAR10_CLASSES):
        return int(text)
    valid = ", ".join(f"{i} {name}" for i, name in enumerate(CIFAR10_CLASSES))
    raise argparse.ArgumentTypeError(f"{text!r} is not a CIFAR-10 class; use a name or index: {valid}")


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
        help="toy 2-D tasks vs imbalance ratio, with resampling remedies and ensembles",
        description="Separable vs overlapping toy tasks at several imbalance ratios: KNN and AdaBoost with "
        "no remedy, random over/under-sampling, SMOTE and three ensembles (self-paced, balance cascade, "
        "under-bagging), 5-fold cross-validated on balanced metrics and "
        "compared with each task's Bayes-optimal balanced accuracy.",
    )
    toy.add_argument("--out", default="imbsk-demo", help="output folder (default: %(default)s)")
    toy.add_argument("--overwrite", action="store_true", help="replace the demo's files if --out holds them")
    toy.add_argument("--n-samples", type=_positive_int, default=5000,
                     help="samples per data set (default: %(default)s)")
    toy.add_argument("--ratios", type=_ratio, nargs="+", default=[1, 10, 100],
                     help="distinct imbalance ratios >= 1 (default: 1 10 100)")
    toy.add_argument("--cv", type=_folds, default=5, help="number of stratified folds (default: %(default)s)")
    toy.add_argument("--random-state", type=_seed, default=0, help="seed of data, folds and models")
    toy.add_argument("--n-jobs", type=_n_jobs, default=None,
                     help="parallel jobs of cross_validate (-1: all cores)")
    toy.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="run the fits on a Dask cluster at ADDRESS, e.g. tcp://10.0.0.1:8786 (needs the 'dask' extra)",
    )
    toy.add_argument("--connect-timeout", type=_seconds, default=None, metavar="SECONDS",
                     help="with --scheduler: seconds to try to reach it (default: 5)")
    toy.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    toy.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    toy.set_defaults(demo_parser=toy)

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
    cifar.add_argument("--overwrite", action="store_true", help="replace the demo's files if --out holds them")
    cifar.add_argument("--quick", action="store_true",
                       help="a few minutes on 2 CPU cores: a subset at 16x16 pixels, fewer epochs")
    cifar.add_argument("--classes", type=_cifar_class, nargs="+", default=None, metavar="NAME",
                       help="two CIFAR-10 classes by name or index 0-9 (default: cat dog), e.g. airplane "
                       "automobile; with --long-tailed, two or more (default: all ten)")
    cifar.add_argument("--long-tailed", type=_ratio, default=None, metavar="IR",
                       help="train on CIFAR-10-LT with this imbalance ratio instead")
    cifar.add_argument("--ratio", type=_ratio, default=None,
                       help="majority : minority ratio of the two-class task (default: 10)")
    cifar.add_argument("--epochs", type=_positive_int, default=None, help="override the number of epochs")
    cifar.add_argument("--cv", type=_folds_or_zero, default=None, help="cross-validation folds (0: none)")
    cifar.add_argument("--random-state", type=_seed, default=0, help="seed")
    cifar.add_argument("--device", default="auto", help="auto, cpu, cuda, ... (default: auto)")
    cifar.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    cifar.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    cifar.set_defaults(demo_parser=cifar)
    return parser


def _check_args(args):
    """Refuse combinations of arguments that argparse cannot check one at a time (exit status 2)."""
    parser = args.demo_parser
    if args.demo == "cifar":
        from .demos import check_cifar_classes

        if args.long_tailed is not None and args.ratio is not None:
            parser.error("argument --ratio: not allowed with --long-tailed (its value is the imbalance ratio)")
        try:
            check_cifar_classes(args.classes, args.long_tailed)
        except ValueError:
            want = "two or more" if args.long_tailed else "exactly two"
            got = " ".join(map(str, args.classes))
            parser.error(f"argument --classes: expected {want} different CIFAR-10 classes, got {got}")
    if args.demo == "toy":
        if len(set(args.ratios)) != len(args.ratios):
            parser.error(f"argument --ratios: a ratio is repeated: {' '.join(f'{r:g}' for r in args.ratios)}")
        if args.connect_timeout is not None and args.scheduler is None:
            parser.error("argument --connect-timeout: only with --scheduler")


def _run_cifar(args):
    from .demos import run_cifar_demo

    run_cifar_demo(
        args.data, args.out, quick=args.quick, classes=args.classes, long_tailed=args.long_tailed,
        ratio=args.ratio, max_epochs=args.epochs, cv=args.cv, random_state=args.random_state,
        device=args.device, plots=not args.no_plots, progress=not args.no_progress, overwrite=args.overwrite,
    )
    if args.out:
        print(f"\nwrote the table and figures to {args.out}/")
    return 0


def _run_toy(args):
    from .demos import run_toy_demo

    context = None
    if args.scheduler is not None:
        from .parallel import dask_backend

        # A generator context: it connects when run_toy_demo enters it, after checking everything else.
        timeout = {} if args.connect_timeout is None else {"connect_timeout": args.connect_timeout}
        context = dask_backend(args.scheduler, **timeout)
    run_toy_demo(
        args.out, imbalance_ratios=tuple(args.ratios), n_samples=args.n_samples, cv=args.cv,
        random_state=args.random_state, n_jobs=args.n_jobs, parallel_context=context,
        plots=not args.no_plots, progress=not args.no_progress, overwrite=args.overwrite,
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
        0 on success; 2 for a bad argument, a missing file or dependency, or an output folder that would
        be overwritten (one line on stderr); 130 when stopped with Ctrl-C.
    """
    args = build_parser().parse_args(argv)
    _check_args(args)
    try:
        if args.command == "demo" and args.demo == "toy":
            return _run_toy(args)
        if args.command == "demo" and args.demo == "cifar":
            return _run_cifar(args)
    except KeyboardInterrupt:
        # Ctrl-C stops the whole run (not just the fit it landed in); a traceback would only bury the
        # fact that the user asked for it.
        print("\nimbsk: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError, ImportError) as exc:
        # Bad values that pass argparse's own checks (too few samples for a ratio, an output folder that
        # holds the demo's files, an unreachable scheduler, a missing extra) are the user's to fix, so
        # they get one line rather than a traceback.
        print(f"imbsk: error: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(f"unhandled command {args}")  # pragma: no cover - argparse requires one


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
