"""The training recipe's settings, shared by the GPU (PyTorch) and CPU (Keras) trainers so they cannot drift apart.

From-scratch Xception, 256² grayscale: AdamW lr 2e-3 with a one-cycle schedule (10% warm-up), weight decay 0.05,
label smoothing 0.1, batch 64, dropout 0.3, 60 epochs; augmentation ranges are in `core.training.augment`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.training.dataset import DEFAULT_TAR

DEFAULT_SEED = 20261123


def add_recipe_arguments(parser: argparse.ArgumentParser, epochs_type: type = int) -> None:
    """Data, output and hyper-parameter options with the recipe's values as defaults."""
    parser.add_argument("--tar", type=Path, default=DEFAULT_TAR)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=epochs_type, default=60)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
