"""Re-estimate BatchNorm moving statistics after training (the trainer's last step).

A from-scratch Xception trained for a few hundred steps at a high learning rate ends with moving means/variances that
lag far behind its weights: measured on the interim model, inference-mode accuracy on validation was 28% while the
same weights with per-batch statistics reached 90%. Recomputing each BatchNorm layer's statistics as the exact average
over shuffled, unaugmented training batches (the app's own preprocessing) fixes that without touching any learned
weight. Usage on already-trained weights:

    python -m core.training.recalibrate_bn --weights W.npz --input-size 128 --out W_recal.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from core.preprocess import to_model_batch
from core.training.dataset import DEFAULT_TAR, ImageSet, read_split, train_validation_split
from core.training.recipe import DEFAULT_SEED



def recalibrate_batchnorm(model, images: ImageSet, input_size: int, batch: int = 64, batches: int = 24,
                          seed: int = 0) -> None:
    """Set every BatchNorm layer's moving statistics to the mean of `batches` shuffled training batches' statistics."""
    import keras

    norm_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved_momentum = [layer.momentum for layer in norm_layers]
    order = np.random.default_rng(seed).permutation(len(images))
    try:
        for batch_number in range(batches):
            # momentum (k-1)/k on the k-th batch makes the moving value the exact running mean of batch statistics.
            for layer in norm_layers:
                layer.momentum = batch_number / (batch_number + 1)
            chosen = order[batch_number * batch:(batch_number + 1) * batch]
            model(to_model_batch(list(images.images[chosen]), input_size), training=True)
    finally:
        for layer, momentum in zip(norm_layers, saved_momentum):
            layer.momentum = momentum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--input-size", type=int, default=256)
    parser.add_argument("--tar", type=Path, default=DEFAULT_TAR)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()

    from core.architecture import build_model, load_weights_npz, save_weights_npz

    training = read_split(args.tar, "Training")
    train_set, validation = train_validation_split(training, args.seed)
    model = build_model(args.input_size)
    load_weights_npz(model, args.weights)
    recalibrate_batchnorm(model, train_set, args.input_size, seed=args.seed)
    logits = model.predict(to_model_batch(list(validation.images), args.input_size), batch_size=64, verbose=0)
    print(f"validation accuracy after recalibration: {(logits.argmax(1) == validation.labels).mean():.4f}")
    save_weights_npz(model, args.out)


if __name__ == "__main__":
    main()
