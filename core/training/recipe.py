"""The training recipe's optimiser settings and seed, shared by the trainer and the scripts that must reproduce its
validation split (`evaluate`, `verify_port`).

From-scratch or warm-started Xception, grayscale: AdamW with a one-cycle schedule (10% warm-up, cosine), weight decay
0.05, label smoothing 0.1, dropout 0.3. Input sizes, epochs and batch sizes are the trainer's `--phases`;
augmentation is `core.training.augment`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.training.dataset import DEFAULT_TAR

DEFAULT_SEED = 20261123


def add_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    """Data, output and optimiser options with the recipe's values as defaults."""
    parser.add_argument("--tar", type=Path, default=DEFAULT_TAR)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
