"""Train the classifier with Keras on whatever device Keras has (the CPU fallback when no GPU is lent).

The full recipe (256², 60 epochs) needs a GPU: see `core/training/train_torch.py`. On the 2-core CPU this trainer is
the interim route: same topology, same preprocessing and augmentation, a smaller input and a few epochs, stated as
such in the model card. Usage:

    python -m core.training.train_keras --input-size 128 --epochs 2.5 --batch 32 --out runs/interim
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from core.preprocess import to_model_batch
from core.training.augment import augment_gray
from core.training.dataset import read_split, train_validation_split
from core.training.recalibrate_bn import recalibrate_batchnorm
from core.training.recipe import add_recipe_arguments



def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_recipe_arguments(parser, epochs_type=float)  # fractional epochs: the CPU route's short runs
    parser.add_argument("--input-size", type=int, default=256)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    import keras

    from core.architecture import build_model, save_weights_npz

    keras.utils.set_random_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    training = read_split(args.tar, "Training")
    train_set, val_set = train_validation_split(training, args.seed)

    steps_per_epoch = len(train_set) // args.batch
    total_steps = int(math.ceil(args.epochs * steps_per_epoch))
    warmup_steps = max(1, total_steps // 10)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=args.lr / 25, decay_steps=total_steps - warmup_steps, alpha=1e-3,
        warmup_target=args.lr, warmup_steps=warmup_steps)
    model = build_model(args.input_size, dropout=args.dropout)
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=args.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=args.label_smoothing),
        metrics=["accuracy"])

    rng = np.random.default_rng(args.seed)
    eye = np.eye(4, dtype=np.float32)
    log = []
    started = time.time()
    order = rng.permutation(len(train_set))
    cursor = 0
    for step in range(total_steps):
        if cursor + args.batch > len(order):
            order, cursor = rng.permutation(len(train_set)), 0
        batch_idx = order[cursor:cursor + args.batch]
        cursor += args.batch
        images = [augment_gray(train_set.images[i], rng) for i in batch_idx]
        loss, accuracy = model.train_on_batch(
            to_model_batch(images, args.input_size), eye[train_set.labels[batch_idx]])
        log.append({"step": step, "loss": float(loss), "accuracy": float(accuracy),
                    "elapsed_s": round(time.time() - started, 1)})
        if step % 10 == 0:
            print(json.dumps(log[-1]), flush=True)
        if (step + 1) % steps_per_epoch == 0:
            save_weights_npz(model, args.out / "weights.npz")
    recalibrate_batchnorm(model, train_set, args.input_size, seed=args.seed)
    save_weights_npz(model, args.out / "weights.npz")
    val_probs = model.predict(to_model_batch(list(val_set.images), args.input_size), batch_size=64, verbose=0)
    val_accuracy = float((val_probs.argmax(1) == val_set.labels).mean())
    summary = {"args": {k: str(v) for k, v in vars(args).items()}, "total_steps": total_steps,
               "wall_time_s": round(time.time() - started, 1), "validation_accuracy": val_accuracy}
    (args.out / "training_log.json").write_text(json.dumps({"summary": summary, "steps": log}, indent=1))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
