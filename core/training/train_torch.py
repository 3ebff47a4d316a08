"""GPU training route: a native PyTorch twin of the Keras Xception classifier, the full recipe, and an exporter that
writes the same float16 `.npz` as `core.architecture.save_weights_npz` (Keras variable paths, Keras kernel layouts).

Twin details that make the port exact: TensorFlow "same" padding for stride-2 windows pads more on the bottom/right
(computed per input size); BatchNorm epsilon 1e-3, PyTorch momentum 0.01 = 1 - Keras momentum 0.99; separable
convolutions are a bias-free depthwise conv (groups = channels) followed by a bias-free 1×1 conv; the residual 1×1
stride-2 convolutions and their BatchNorms are the Keras auto-named `conv2d`, `conv2d_1`, ... in creation order;
Glorot-uniform kernels as Keras initialises them. `tests/test_weight_port.py` checks the port on random weights.

Recipe (issue 6): 256² input, 60 epochs, AdamW lr 2e-3 one-cycle (10% warm-up, cosine), weight decay 0.05, label
smoothing 0.1, batch 64, bf16 autocast, dropout 0.3, augmentation on the GPU (rotation ±12°, scale ±12%, shift ±8%,
horizontal flip, contrast ±20%, brightness ±0.1) with affine_grid/grid_sample. The validation part is the same seeded
stratified 10% of Training the Keras trainer and `core.training.evaluate` use.

On the lent GPU machine (it has torch, numpy, OpenCV and Pillow, but no TensorFlow/Keras; nothing is fetched there):

1. The tar (62 MB) does not travel from ../shared: copy it into an ignored folder of the checkout
   (`mkdir -p .gpu && cp ../shared/data/brain-mri-256/brainmri256.tar .gpu/`, `echo /.gpu/ >> .git/info/exclude`).
   The working tree that travels is limited to 64 MiB, so move models/weights.npz out of the tree for the call.
2. `run(carry=[".gpu"], command="PYTHONUNBUFFERED=1 python3 -m core.training.train_torch --tar .gpu/brainmri256.tar
   --out $OUT/run && cd $OUT/run && split -b 15M weights.npz weights.npz.part- && split -b 15M model.pt model.pt.part-
   && rm weights.npz model.pt")` — files come back in ≤ 16 MiB pieces; `cat weights.npz.part-* > weights.npz` here.
3. Here (CPU, TensorFlow): `python -m core.training.verify_port --torch-checkpoint model.pt --weights weights.npz`
   (argmax agreement ≥ 99.9%), then `python -m core.training.evaluate --weights weights.npz --input-size 256
   --out models`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.preprocess import to_model_batch
from core.training.augment import AugmentRanges
from core.training.dataset import CLASSES, read_split, train_validation_split
from core.training.recipe import add_recipe_arguments

BN_EPSILON = 1e-3
BN_MOMENTUM = 0.01  # PyTorch weights the new batch statistic; Keras' 0.99 weights the running one
ENTRY_WIDTHS = ((2, 128), (3, 256), (4, 728))  # (block, channels) of the three entry-flow blocks
MIDDLE_BLOCKS = range(5, 13)


def tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding TensorFlow's "same" uses: the odd pixel goes after (bottom/right)."""
    output = math.ceil(size / stride)
    total = max((output - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPSILON, momentum=BN_MOMENTUM)


class SeparableConv(nn.Module):
    """Keras SeparableConv2D(3×3, "same", use_bias=False): depthwise 3×3 then pointwise 1×1."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


def max_pool_same(x: torch.Tensor) -> torch.Tensor:
    """Keras MaxPooling2D(3, 2, "same"): padded cells never win (-inf)."""
    top, bottom = tf_same_padding(x.shape[2], 3, 2)
    left, right = tf_same_padding(x.shape[3], 3, 2)
    return F.max_pool2d(F.pad(x, (left, right, top, bottom), value=float("-inf")), 3, 2)


class XceptionTwin(nn.Module):
    """Modules are keyed by their Keras layer names, so export is a name-for-name copy."""

    def __init__(self, num_classes: int = len(CLASSES), dropout: float = 0.3) -> None:
        super().__init__()
        layers: dict[str, nn.Module] = {
            "block1_conv1": nn.Conv2d(3, 32, 3, stride=2, bias=False), "block1_conv1_bn": batch_norm(32),
            "block1_conv2": nn.Conv2d(32, 64, 3, bias=False), "block1_conv2_bn": batch_norm(64)}
        widths = [64]
        for residual_index, (block, channels) in enumerate(ENTRY_WIDTHS):
            self._add_residual(layers, residual_index, widths[-1], channels)
            layers |= self._separable(f"block{block}_sepconv1", widths[-1], channels)
            layers |= self._separable(f"block{block}_sepconv2", channels, channels)
            widths.append(channels)
        for block in MIDDLE_BLOCKS:
            for conv in (1, 2, 3):
                layers |= self._separable(f"block{block}_sepconv{conv}", 728, 728)
        self._add_residual(layers, len(ENTRY_WIDTHS), 728, 1024)
        layers |= self._separable("block13_sepconv1", 728, 728) | self._separable("block13_sepconv2", 728, 1024)
        layers |= self._separable("block14_sepconv1", 1024, 1536) | self._separable("block14_sepconv2", 1536, 2048)
        layers["head_dropout"] = nn.Dropout(dropout)
        layers["logits"] = nn.Linear(2048, num_classes)
        self.layers = nn.ModuleDict(layers)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)  # Keras' glorot_uniform (same fan sum for depthwise kernels)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    @staticmethod
    def _separable(name: str, in_channels: int, out_channels: int) -> dict[str, nn.Module]:
        return {name: SeparableConv(in_channels, out_channels), f"{name}_bn": batch_norm(out_channels)}

    @staticmethod
    def _add_residual(layers: dict[str, nn.Module], index: int, in_channels: int, out_channels: int) -> None:
        suffix = "" if index == 0 else f"_{index}"
        layers[f"conv2d{suffix}"] = nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False)
        layers[f"batch_normalization{suffix}"] = batch_norm(out_channels)

    def _conv_bn(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return self.layers[f"{name}_bn"](self.layers[name](x))

    def _residual(self, index: int, x: torch.Tensor) -> torch.Tensor:
        suffix = "" if index == 0 else f"_{index}"
        return self.layers[f"batch_normalization{suffix}"](self.layers[f"conv2d{suffix}"](x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The block14_sepconv2_act feature map (the Grad-CAM layer)."""
        x = F.relu(self._conv_bn("block1_conv1", x))
        x = F.relu(self._conv_bn("block1_conv2", x))
        for residual_index, (block, _) in enumerate(ENTRY_WIDTHS):
            residual = self._residual(residual_index, x)
            if block != 2:  # Keras starts block 2 from the already activated block1 output
                x = F.relu(x)
            x = self._conv_bn(f"block{block}_sepconv1", x)
            x = self._conv_bn(f"block{block}_sepconv2", F.relu(x))
            x = max_pool_same(x) + residual
        for block in MIDDLE_BLOCKS:
            residual = x
            for conv in (1, 2, 3):
                x = self._conv_bn(f"block{block}_sepconv{conv}", F.relu(x))
            x = x + residual
        residual = self._residual(len(ENTRY_WIDTHS), x)
        x = self._conv_bn("block13_sepconv1", F.relu(x))
        x = self._conv_bn("block13_sepconv2", F.relu(x))
        x = max_pool_same(x) + residual
        x = F.relu(self._conv_bn("block14_sepconv1", x))
        return F.relu(self._conv_bn("block14_sepconv2", x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits from an (N, 3, H, W) batch in [-1, 1]."""
        pooled = self.features(x).mean(dim=(2, 3))
        return self.layers["logits"](self.layers["head_dropout"](pooled))


def keras_arrays(model: XceptionTwin) -> dict[str, np.ndarray]:
    """Every weight under its Keras variable path, in Keras layout (conv HWIO, depthwise HWC1, dense IO), float32."""
    arrays: dict[str, np.ndarray] = {}
    for name, module in model.layers.items():
        if isinstance(module, SeparableConv):
            arrays[f"{name}/depthwise_kernel"] = module.depthwise.weight.detach().cpu().permute(2, 3, 0, 1).numpy()
            arrays[f"{name}/pointwise_kernel"] = module.pointwise.weight.detach().cpu().permute(2, 3, 1, 0).numpy()
        elif isinstance(module, nn.Conv2d):
            arrays[f"{name}/kernel"] = module.weight.detach().cpu().permute(2, 3, 1, 0).numpy()
        elif isinstance(module, nn.BatchNorm2d):
            for keras_name, tensor in (("gamma", module.weight), ("beta", module.bias),
                                       ("moving_mean", module.running_mean), ("moving_variance", module.running_var)):
                arrays[f"{name}/{keras_name}"] = tensor.detach().cpu().numpy()
        elif isinstance(module, nn.Linear):
            arrays[f"{name}/kernel"] = module.weight.detach().cpu().T.numpy()
            arrays[f"{name}/bias"] = module.bias.detach().cpu().numpy()
    # The dropout layer's random-seed state: unused at inference, present so every Keras variable has a value.
    arrays["seed_generator/seed_generator_state"] = np.zeros(2, np.int64)
    return arrays


def export_keras_npz(model: XceptionTwin, path: Path) -> None:
    """The same file `core.architecture.save_weights_npz` writes for the Keras model (float16 storage)."""
    arrays = {key: value.astype(np.float16) if np.issubdtype(value.dtype, np.floating) else value
              for key, value in keras_arrays(model).items()}
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


# ---------------------------------------------------------------- training


def augment_on_device(gray: torch.Tensor, generator: torch.Generator, ranges: AugmentRanges = AugmentRanges()
                      ) -> torch.Tensor:
    """Random affine + flip + contrast + brightness of an (N, 1, H, W) batch in [0, 1] (the ranges of augment.py)."""
    count, device = gray.shape[0], gray.device

    def uniform(limit: float) -> torch.Tensor:
        return (torch.rand(count, device=device, generator=generator) * 2 - 1) * limit

    angle = uniform(math.radians(ranges.rotation_degrees))
    scale = 1.0 + uniform(ranges.scale)
    flip = torch.where(torch.rand(count, device=device, generator=generator) < 0.5, -1.0, 1.0)
    # affine_grid maps output to input coordinates in [-1, 1]: the inverse of zooming by `scale` and rotating.
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos * flip, -sin, uniform(2 * ranges.shift)], dim=1),
                         torch.stack([sin * flip, cos, uniform(2 * ranges.shift)], dim=1)], dim=1)
    grid = F.affine_grid(theta, list(gray.shape), align_corners=False)
    warped = F.grid_sample(gray, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    mean = warped.mean(dim=(1, 2, 3), keepdim=True)
    contrast = (1.0 + uniform(ranges.contrast)).view(-1, 1, 1, 1)
    brightness = uniform(ranges.brightness).view(-1, 1, 1, 1)
    return ((warped - mean) * contrast + mean + brightness).clamp(0.0, 1.0)


def to_network_input(gray01: torch.Tensor) -> torch.Tensor:
    """[0, 1] gray (N, 1, H, W) → (N, 3, H, W) in [-1, 1]: `core.preprocess.to_model_input` on the device."""
    return (gray01 * 2.0 - 1.0).expand(-1, 3, -1, -1)


def predict_logits(model: XceptionTwin, images: np.ndarray, device: torch.device, batch: int = 128) -> np.ndarray:
    """Eval-mode float32 logits of uint8 (N, H, W) images through the shared preprocessing function."""
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            inputs = torch.from_numpy(to_model_batch(list(images[start:start + batch]), images.shape[1]))
            outputs.append(model(inputs.permute(0, 3, 1, 2).to(device)).float().cpu().numpy())
    return np.concatenate(outputs)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_recipe_arguments(parser)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (debugging)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    training = read_split(args.tar, "Training")
    train_part, validation = train_validation_split(training, args.seed)
    train_images = torch.from_numpy(train_part.images).to(device).unsqueeze(1)  # uint8 (N, 1, H, W)
    train_labels = torch.from_numpy(train_part.labels).to(device)

    model = XceptionTwin(dropout=args.dropout).to(device).to(memory_format=torch.channels_last)
    forward = model if args.no_compile or device.type != "cuda" else torch.compile(model)
    steps_per_epoch = len(train_part) // args.batch
    total_steps = steps_per_epoch * args.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=total_steps, pct_start=0.1,
                                                   anneal_strategy="cos", div_factor=25.0, final_div_factor=40.0)
    loss_function = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    log, started = [], time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train_part), device=device, generator=generator)
        for step in range(steps_per_epoch):
            batch = order[step * args.batch:(step + 1) * args.batch]
            gray = augment_on_device(train_images[batch].float() / 255.0, generator)
            inputs = to_network_input(gray).contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss = loss_function(forward(inputs), train_labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        validation_accuracy = float((predict_logits(model, validation.images, device).argmax(1)
                                     == validation.labels).mean())
        log.append({"epoch": epoch + 1, "loss": float(loss), "validation_accuracy": validation_accuracy,
                    "elapsed_s": round(time.time() - started, 1)})
        print(json.dumps(log[-1]), flush=True)
    wall_time = round(time.time() - started, 1)
    torch.save(model.state_dict(), args.out / "model.pt")
    export_keras_npz(model, args.out / "weights.npz")
    device_name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    summary = {"command": "python -m core.training.train_torch " + " ".join(
                   f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k not in ("tar", "out")),
               "args": {k: str(v) for k, v in vars(args).items()}, "total_steps": total_steps,
               "wall_time_s": wall_time, "device": device_name, "validation_accuracy": log[-1]["validation_accuracy"]}
    (args.out / "training_log.json").write_text(json.dumps({"summary": summary, "epochs": log}, indent=1))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
