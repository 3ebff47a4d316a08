"""Prove a PyTorch → Keras weight port: both models on the official Testing split, same preprocessing.

    python -m core.training.verify_port --torch-checkpoint run/model.pt --weights run/weights.npz [--input-size 256]

The torch model is the float32 training model (`model.pt`, eval mode); the Keras model loads the exported float16
`weights.npz` exactly as the application does. Reports max |Δprob| and the share of identical argmax (goal ≥ 99.9%);
exits non-zero below the goal. Runs on the CPU (needs TensorFlow, so not on the GPU machine).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from core.model.classifier import softmax_with_temperature
from core.model.preprocess import to_model_batch
from core.training.dataset import DEFAULT_TAR, read_split

AGREEMENT_GOAL = 0.999


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torch-checkpoint", type=Path, required=True)
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--input-size", type=int, default=256)
    parser.add_argument("--tar", type=Path, default=DEFAULT_TAR)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--every", type=int, default=1, help="use every N-th Testing image (N > 1 saves CPU time)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import torch

    from core.model.network import build_model, load_weights_npz
    from core.training.train_torch import XceptionTwin

    twin = XceptionTwin()
    twin.load_state_dict(torch.load(args.torch_checkpoint, map_location="cpu"))
    twin = twin.to(memory_format=torch.channels_last)
    twin.eval()
    keras_model = build_model(args.input_size)
    load_weights_npz(keras_model, args.weights)
    test = read_split(args.tar, "Testing")
    test = test.subset(np.arange(0, len(test), args.every))
    torch_logits, keras_logits = [], []
    for start in range(0, len(test), args.batch):
        batch = to_model_batch(list(test.images[start:start + args.batch]), args.input_size)
        with torch.no_grad():
            inputs = torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
            torch_logits.append(twin(inputs).numpy())
        keras_logits.append(np.asarray(keras_model(batch, training=False)))
    torch_probs = softmax_with_temperature(np.concatenate(torch_logits), 1.0)
    keras_probs = softmax_with_temperature(np.concatenate(keras_logits), 1.0)
    agreement = float(np.mean(torch_probs.argmax(1) == keras_probs.argmax(1)))
    result = {"images": len(test), "max_abs_prob_difference": float(np.abs(torch_probs - keras_probs).max()),
              "argmax_agreement": agreement,
              "torch_accuracy": float(np.mean(torch_probs.argmax(1) == test.labels)),
              "keras_accuracy": float(np.mean(keras_probs.argmax(1) == test.labels))}
    print(json.dumps(result, indent=1))
    if agreement < AGREEMENT_GOAL:
        raise SystemExit(f"argmax agreement {agreement:.4%} is below {AGREEMENT_GOAL:.1%}")


if __name__ == "__main__":
    main()
