"""The trainer's step on this machine: float32 against bf16 autocast (a script, not a test; needs the `train` extra).

    python benchmarks/bench_training_step.py [--size 256] [--batch 16] [--repeats 3]

The trainer's own step (`core.training.train_torch.training_step`: forward, cross-entropy, backward, AdamW) on
`XceptionTwin`, channels-last as the trainer runs it, on random inputs: augmentation is not included. The two
precisions are interleaved and each figure is the median of the repeats, so only figures from one run compare
fairly. Whether `--bf16` pays depends on the CPU and the PyTorch build: measure before a long run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from core.training.train_torch import XceptionTwin, training_step


def step_seconds(model: XceptionTwin, optimizer: torch.optim.Optimizer, inputs: torch.Tensor, labels: torch.Tensor,
                 bf16: bool) -> float:
    started = time.perf_counter()
    training_step(model, optimizer, nn.CrossEntropyLoss(), inputs, labels, bf16)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = XceptionTwin().train().to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    inputs = torch.randn(args.batch, 3, args.size, args.size).contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 4, (args.batch,))
    times: dict[bool, list[float]] = {False: [], True: []}
    for bf16 in (False, True):  # warm-up: the first step of each precision picks its kernels
        step_seconds(model, optimizer, inputs, labels, bf16)
    for _ in range(args.repeats):
        for bf16 in (False, True):
            times[bf16].append(step_seconds(model, optimizer, inputs, labels, bf16))
    rates = {bf16: args.batch / statistics.median(seconds) for bf16, seconds in times.items()}
    print(f"{args.size}² input, batch {args.batch}, {torch.get_num_threads()} threads, "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}, torch {torch.__version__}")
    print(f"float32: {rates[False]:.1f} images/s; bf16 autocast: {rates[True]:.1f} images/s "
          f"(bf16 / float32 = {rates[True] / rates[False]:.2f}x)")


if __name__ == "__main__":
    main()
