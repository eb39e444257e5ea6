"""Training throughput of imbsk's CNNs on CPU: contiguous (NCHW) vs channels-last memory format.

    python benchmarks/bench_channels_last.py [--threads 2] [--steps 20] [--batch-size 128] [--repeats 3]

One SGD step (forward, cross-entropy, backward, update) on a batch of random 3x32x32 images, timed
over ``--steps`` steps after 3 warm-up steps; the median of ``--repeats`` such timings is reported.
``CNNClassifier`` puts 4-D convolutional modules in channels-last format on every device.
"""

import argparse
import os
import platform
import statistics
import time

import torch

from imbsk.models import ResNet20, ResNet32, SimpleCNN


def images_per_second(module, channels_last, batch_size, steps):
    module = module.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    opt = torch.optim.SGD(module.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch_size, 3, 32, 32)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 2, (batch_size,))
    for i in range(steps + 3):
        if i == 3:
            start = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(module(x), y).backward()
        opt.step()
    return batch_size * steps / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, batch {args.batch_size}, load average {os.getloadavg()[0]:.2f}")
    print()
    print(f"| module | NCHW img/s | channels-last img/s | speed-up | (median of {args.repeats}) |")
    print("|---|---:|---:|---:|---|")
    for name, make in [("simple_cnn (width 32)", lambda: SimpleCNN(width=32)),
                       ("resnet20", lambda: ResNet20(n_classes=2)), ("resnet32", lambda: ResNet32(n_classes=2))]:
        rates = {}
        for cl in (False, True):
            rates[cl] = statistics.median(
                images_per_second(make(), cl, args.batch_size, args.steps) for _ in range(args.repeats))
        print(f"| {name} | {rates[False]:,.0f} | {rates[True]:,.0f} | {rates[True] / rates[False]:.2f}x | |")


if __name__ == "__main__":
    main()
