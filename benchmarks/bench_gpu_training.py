"""GPU training throughput of imbsk.CNNClassifier: ResNet-32 on CIFAR-sized images (target: >= 30,000 images/s).

The classifier keeps the training set as one uint8 tensor on the GPU, gathers each batch there,
applies the flip-and-crop augmentation (``augment="light"``) and the normalisation to the whole batch
on the device, runs the network in channels-last layout under autocast (bf16 where supported), and
reads the loss once per epoch. Throughput is the number of training images divided by the median
duration of the epochs after the first (which includes cuDNN autotuning and allocator warm-up).

    python benchmarks/bench_gpu_training.py [--n 50000] [--epochs 5] [--batch-size 512]
                                            [--data ../shared/data]

Without a CUDA device the table is printed with every row "not measured".
"""

import argparse
import platform
import statistics

import numpy as np
import torch

from imbsk import CNNClassifier

CONFIGS = [
    ("resnet32", "light", "auto"),
    ("resnet32", None, "auto"),
    ("resnet32", "light", "fp32"),
    ("simple_cnn", "light", "auto"),
]


def load_data(n, data):
    if data:
        from imbsk.datasets import load_cifar10

        X, y = load_cifar10(data, split="train")
        return np.ascontiguousarray(X[:n]), np.asarray(y[:n]), f"CIFAR-10 training images from {data}"
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, size=n),
            "random uint8 images (3x32x32), 10 classes")


def measure(X, y, module, augment, precision, epochs, batch_size):
    clf = CNNClassifier(module, augment=augment, precision=precision, max_epochs=epochs, batch_size=batch_size,
                        lr=0.1, device="cuda", random_state=0)
    clf.fit(X, y)
    durations = [row["dur"] for row in clf.history[1:]]
    return len(X) / statistics.median(durations), clf.amp_dtype_ or "fp32"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()

    rows = []
    if torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True
        X, y, source = load_data(args.n, args.data)
        device = torch.cuda.get_device_name()
        for module, augment, precision in CONFIGS:
            rate, dtype = measure(X, y, module, augment, precision, args.epochs, args.batch_size)
            rows.append((module, augment, dtype, f"{rate:,.0f}"))
    else:
        source, device = "-", "no CUDA device"
        rows = [(m, a, p, "not measured") for m, a, p in CONFIGS]
    print(f"device: {device}; torch {torch.__version__}; {platform.node()}")
    print(f"data: {source}; {args.n} images, batch {args.batch_size}, median epoch of epochs 2..{args.epochs}\n")
    print("| module | augment | precision | training images/s |")
    print("|---|---|---|---:|")
    for module, augment, precision, rate in rows:
        print(f"| {module} | {augment or 'none'} | {precision} | {rate} |")


if __name__ == "__main__":
    main()
