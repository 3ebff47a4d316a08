"""The trainer: a native PyTorch twin of the Keras Xception classifier, the recipe, and an exporter that writes the
same float16 `.npz` as `core.model.network.save_weights_npz` (Keras variable paths, Keras kernel layouts).

Twin details that make the port exact: TensorFlow "same" padding for stride-2 windows pads more on the bottom/right
(computed per input size); BatchNorm epsilon 1e-3; separable convolutions are a bias-free depthwise conv (groups =
channels) followed by a bias-free 1×1 conv; the residual 1×1 stride-2 convolutions and their BatchNorms are the Keras
auto-named `conv2d`, `conv2d_1`, ... in creation order; Glorot-uniform kernels as Keras initialises them.
`tests/test_weight_port.py` checks the port on random weights; `verify_port` checks trained weights.

Recipe: the training split minus its validation part plus the extra healthy-brain sources
(`core.training.dataset.training_data`), class-balanced draws, domain-generalising augmentation on the CPU
(`core.training.augment`, through the application's own preprocessing), AdamW with a one-cycle schedule over all
phases, label smoothing 0.1, dropout 0.3, progressive resizing by `--phases`, BatchNorm statistics re-estimated
exactly at the end. It runs on the CPU in float32; `--bf16` pays on GPUs, while on a CPU it depends on the chip
and the PyTorch build (`benchmarks/bench_training_step.py` measures both before a long run).
Every epoch writes OUT/checkpoints/last.pt and a line to OUT/train.log; started again with the same arguments it
resumes from the last checkpoint. The model card states the command, seed, wall time and machine of the shipped
run. Then: `python -m core.training.verify_port --torch-checkpoint OUT/model.pt --weights OUT/weights.npz`
(argmax agreement ≥ 99.9%) and `python -m core.training.evaluate --weights OUT/weights.npz --input-size S
--torch-checkpoint OUT/model.pt --out models`.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.model.preprocess import to_model_batch
from core.training.augment import DEFAULT_SETTINGS, AugmentSettings, training_gray
from core.training.dataset import CLASSES, DEFAULT_EXTRA_TRAIN, training_data
from core.training.recipe import add_recipe_arguments

BN_EPSILON = 1e-3
BN_MOMENTUM = 0.01  # PyTorch weights the new batch statistic; Keras' 0.99 weights the running one
# While training, a horizon of ~10 batches keeps the running statistics close to the fast-moving weights; they are
# re-estimated exactly at the end (`reestimate_batchnorm`), so the exported value of momentum does not matter.
BN_MOMENTUM_TRAINING = 0.1
DEFAULT_PHASES = "128:8:32,256:1:16:1600"


@dataclass(frozen=True)
class Phase:
    """Progressive resizing: `epochs` epochs at `size`² input in batches of `batch`, each of `images` draws (0: as
    many as there are training images)."""

    size: int
    epochs: int
    batch: int
    images: int = 0
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


def load_keras_npz(model: XceptionTwin, path: Path) -> None:
    """Load a Keras-layout `.npz` (as `export_keras_npz` writes it) into the twin: the inverse of `keras_arrays`."""
    stored = np.load(path)
    layouts = {4: (3, 2, 0, 1)}  # HWIO → OIHW for conv kernels
    with torch.no_grad():
        for key, value in keras_arrays(model).items():
            if key.startswith("seed_generator"):
                continue
            name, variable = key.split("/")
            module = model.layers[name]
            array = torch.from_numpy(stored[key].astype(np.float32))
            if isinstance(module, SeparableConv):
                target = module.depthwise.weight if variable == "depthwise_kernel" else module.pointwise.weight
                order = (2, 3, 0, 1) if variable == "depthwise_kernel" else layouts[4]
                target.copy_(array.permute(*order))
            elif isinstance(module, nn.Conv2d):
                module.weight.copy_(array.permute(*layouts[4]))
            elif isinstance(module, nn.BatchNorm2d):
                target = {"gamma": module.weight, "beta": module.bias, "moving_mean": module.running_mean,
                          "moving_variance": module.running_var}[variable]
                target.copy_(array)
            elif isinstance(module, nn.Linear):
                (module.weight if variable == "kernel" else module.bias).copy_(array.T if variable == "kernel"
                                                                               else array)
            assert tuple(value.shape) == tuple(stored[key].shape), key


def export_keras_npz(model: XceptionTwin, path: Path) -> None:
    """The same file `core.model.network.save_weights_npz` writes for the Keras model (float16 storage)."""
    arrays = {key: value.astype(np.float16) if np.issubdtype(value.dtype, np.floating) else value
              for key, value in keras_arrays(model).items()}
    with open(path, "wb") as handle:
        # a ** mapping may hold "allow_pickle" for all mypy knows (typed bool); these keys are weight names
        np.savez(handle, **arrays)  # type: ignore[arg-type]


# ---------------------------------------------------------------- training


def epoch_draws(weights: np.ndarray, count: int, seed: int, epoch: int) -> list[tuple[int, int]]:
    """One epoch's (image index, augmentation seed) draws, balanced by `weights` (`dataset.draw_weights`); the seeds
    make every epoch's augmentation reproducible, on resume too."""
    rng = np.random.default_rng([seed, epoch])
    indices = rng.choice(len(weights), size=count, p=weights / weights.sum())
    return list(zip(indices.tolist(), rng.integers(0, 2**62, size=count).tolist()))


_worker_images: list[np.ndarray] = []
_worker_labels: np.ndarray = np.zeros(0, np.int64)


def _augmented_chunk(chunk: list[tuple[int, int]], size: int,
                     settings: AugmentSettings) -> tuple[np.ndarray, np.ndarray]:
    grays = [training_gray(_worker_images[index], np.random.default_rng(seed), size, settings)
             for index, seed in chunk]
    return np.stack(grays)[:, None], _worker_labels[[index for index, _ in chunk]]


def _receive_images(images: list[np.ndarray], labels: np.ndarray) -> None:
    """Keep the images to augment (the thread shares the caller's)."""
    global _worker_images, _worker_labels
    _worker_images, _worker_labels = images, labels


def _start_worker_process(images: list[np.ndarray], labels: np.ndarray) -> None:
    cv2.setNumThreads(1)  # the processes are the parallelism
    _receive_images(images, labels)


def augmentation_pool(images: list[np.ndarray], labels: np.ndarray, workers: int) -> Executor:
    """Where batches are augmented: a thread (`workers` 0) or `workers` processes, each sent the images once.
    OpenCV and NumPy release the GIL, so one thread keeps up with a CPU-bound network step; a GPU step needs more.
    The processes are spawned, not forked: a fork taken while PyTorch's (or any library's) threads hold a lock can
    deadlock the child."""
    if workers == 0:
        _receive_images(images, labels)
        return ThreadPoolExecutor(max_workers=1)
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker_process, initargs=(images, labels))


def augmented_batches(pool: Executor, draws: list[tuple[int, int]], size: int, batch: int, ahead: int,
                      settings: AugmentSettings = DEFAULT_SETTINGS) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(gray (B, 1, size, size) in [0, 1], labels) batches of the drawn images, augmented `ahead` batches early."""
    chunks = [draws[start:start + batch] for start in range(0, len(draws) - batch + 1, batch)]
    pending = [pool.submit(_augmented_chunk, chunk, size, settings) for chunk in chunks[:ahead]]
    for position in range(len(chunks)):
        grays, labels = pending.pop(0).result()
        if position + ahead < len(chunks):
            pending.append(pool.submit(_augmented_chunk, chunks[position + ahead], size, settings))
        yield torch.from_numpy(grays), torch.from_numpy(labels)


def model_inputs(images: list[np.ndarray], size: int, device: torch.device) -> torch.Tensor:
    """(N, 3, size, size) channels-last model inputs of uint8 display images through the app's preprocessing."""
    inputs = torch.from_numpy(to_model_batch(list(images), size)).permute(0, 3, 1, 2)
    return inputs.to(device).contiguous(memory_format=torch.channels_last)


def predict_logits(model: XceptionTwin, images: list[np.ndarray], size: int, batch: int = 64) -> np.ndarray:
    """Eval-mode float32 logits of uint8 display images through the shared preprocessing function."""
    device = next(model.parameters()).device
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            outputs.append(model(model_inputs(images[start:start + batch], size, device)).float().cpu().numpy())
    return np.concatenate(outputs)


def reestimate_batchnorm(model: XceptionTwin, images: list[np.ndarray], size: int, seed: int,
                         batches: int = 40, batch: int = 32) -> None:
    """Every BatchNorm's running statistics as the exact average over unaugmented training batches (the app's
    preprocessing), so inference does not depend on the short averaging horizon used while training."""
    layers = [module for module in model.modules() if isinstance(module, nn.BatchNorm2d)]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative average
    order = np.random.default_rng(seed).permutation(len(images))[:batches * batch]
    device = next(model.parameters()).device
    model.train()
    with torch.no_grad():
        for start in range(0, len(order), batch):
            model(model_inputs([images[i] for i in order[start:start + batch]], size, device))
    for layer in layers:
        layer.momentum = BN_MOMENTUM_TRAINING


def training_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss_function: nn.Module,
                  inputs: torch.Tensor, labels: torch.Tensor, bf16: bool) -> torch.Tensor:
    """One optimisation step on a batch (bf16 autocast on the inputs' device when asked); the loss, detached.
    `benchmarks/bench_training_step.py` times this very step."""
    with torch.autocast(inputs.device.type, dtype=torch.bfloat16, enabled=bf16):
        loss = loss_function(model(inputs).float(), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def parse_phases(text: str) -> list[Phase]:
    phases = []
    for part in text.split(","):
        phases.append(Phase(*(int(value) for value in part.split(":"))))
    return phases


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_recipe_arguments(parser)
    parser.add_argument("--phases", type=parse_phases, default=parse_phases(DEFAULT_PHASES),
                        help=f"SIZE:EPOCHS:BATCH[:IMAGES],... (default {DEFAULT_PHASES})")
    parser.add_argument("--final-size", type=int,
                        help="input size for the BatchNorm re-estimation and the export (default: the last phase's)")
    parser.add_argument("--init", type=Path, help="start from these Keras-layout weights (.npz) instead of random")
    parser.add_argument("--bf16", action="store_true",
                        help="bf16 autocast (faster on GPUs; on a CPU, measure: benchmarks/bench_training_step.py)")
    parser.add_argument("--device", default="cpu", help="torch device to train on: cpu (default) or cuda")
    parser.add_argument("--workers", type=int, default=0,
                        help="augmentation processes (default 0: one thread, enough for a CPU-bound step)")
    parser.add_argument("--quarter-turn-probability", type=float, default=DEFAULT_SETTINGS.quarter_turn_probability,
                        help="share of training images turned by 90, 180 or 270 degrees (default %(default)s)")
    parser.add_argument("--extra-train", type=Path, default=DEFAULT_EXTRA_TRAIN,
                        help="folder of extra <class>/<source>_<subject>_... training images ('' for none)")
    return parser.parse_args()


def training_device(device: torch.device, workers: int) -> str:
    """What the model card says the run ran on."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, {workers} augmentation processes"
    return f"CPU, {torch.get_num_threads()} threads"


class Progress:
    """Appends one JSON line per event to OUT/train.log and echoes it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, **event: object) -> None:
        line = json.dumps({"time": time.strftime("%H:%M:%S"), **event})
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        print(line, flush=True)


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoints = args.out / "checkpoints"
    checkpoints.mkdir(exist_ok=True)
    progress = Progress(args.out / "train.log")
    data = training_data(args.tar, args.extra_train or None, args.seed)
    progress(event="data", **data.summary())
    pool = augmentation_pool(data.train_images, data.train_labels, args.workers)
    settings = replace(DEFAULT_SETTINGS, quarter_turn_probability=args.quarter_turn_probability)
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True  # fixed input sizes per phase

    model = XceptionTwin(dropout=args.dropout)
    if args.init:
        load_keras_npz(model, args.init)
    model = model.to(device, memory_format=torch.channels_last)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = BN_MOMENTUM_TRAINING
    epochs = [(phase, epoch) for phase in args.phases for epoch in range(phase.epochs)]
    def draws_per_epoch(phase: Phase) -> int:
        return phase.images or len(data.train_images)

    total_steps = sum(draws_per_epoch(phase) // phase.batch for phase, _ in epochs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=total_steps, pct_start=0.1,
                                                   anneal_strategy="cos", div_factor=25.0, final_div_factor=40.0)
    loss_function = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    first_epoch, elapsed_before = 0, 0.0
    last = checkpoints / "last.pt"
    if last.is_file():
        state = torch.load(last, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        first_epoch, elapsed_before = state["epoch"], state["elapsed_s"]
        progress(event="resumed", epoch=first_epoch)
    started = time.time() - elapsed_before
    for epoch_number in range(first_epoch, len(epochs)):
        phase, _ = epochs[epoch_number]
        draws = epoch_draws(data.train_weights, draws_per_epoch(phase), args.seed, epoch_number)
        loader = augmented_batches(pool, draws, phase.size, phase.batch, ahead=max(3, 2 * args.workers),
                                   settings=settings)
        model.train()
        losses = []
        for gray, labels in loader:
            gray, labels = gray.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            inputs = (gray * 2.0 - 1.0).expand(-1, 3, -1, -1).contiguous(memory_format=torch.channels_last)
            losses.append(training_step(model, optimizer, loss_function, inputs, labels, args.bf16))
            schedule.step()
        losses = [float(loss) for loss in losses]
        validation_logits = predict_logits(model, data.validation_images, phase.size)
        accuracy = float((validation_logits.argmax(1) == data.validation_labels).mean())
        elapsed = time.time() - started
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(), "epoch": epoch_number + 1, "elapsed_s": elapsed},
                   checkpoints / "last.partial")
        (checkpoints / "last.partial").replace(last)
        progress(event="epoch", epoch=epoch_number + 1, of=len(epochs), size=phase.size,
                 loss=round(float(np.mean(losses)), 4), validation_accuracy=round(accuracy, 4),
                 elapsed_s=round(elapsed, 1))
    final_size = args.final_size or args.phases[-1].size
    reestimate_batchnorm(model, data.train_images, final_size, args.seed)
    validation_logits = predict_logits(model, data.validation_images, final_size)
    accuracy = float((validation_logits.argmax(1) == data.validation_labels).mean())
    wall_time = round(time.time() - started, 1)
    pool.shutdown()
    model = model.cpu()
    torch.save(model.state_dict(), args.out / "model.pt")
    export_keras_npz(model, args.out / "weights.npz")
    phases = ",".join(":".join(str(v) for v in (p.size, p.epochs, p.batch, p.images) if v) for p in args.phases)
    options = ((f" --init {args.init}" if args.init else "")
               + (f" --final-size {final_size}" if args.final_size else "")
               + (f" --quarter-turn-probability {settings.quarter_turn_probability}"
                  if settings != DEFAULT_SETTINGS else "")
               + (f" --device {args.device} --workers {args.workers}" if args.device != "cpu" else "")
               + (" --bf16" if args.bf16 else ""))
    summary = {"command": f"python -m core.training.train_torch --out OUT --phases {phases} --lr {args.lr} "
                          f"--seed {args.seed}{options}",
               "args": {k: str(v) for k, v in vars(args).items()}, "total_steps": total_steps,
               "wall_time_s": wall_time,
               "device": training_device(device, args.workers) + (", bf16 autocast" if args.bf16 else ""),
               "input_size": final_size, "validation_accuracy": round(accuracy, 4), "data": data.summary()}
    log = [json.loads(line) for line in (args.out / "train.log").read_text(encoding="utf-8").splitlines()]
    (args.out / "training_log.json").write_text(json.dumps({"summary": summary, "events": log}, indent=1))
    progress(event="done", validation_accuracy_after_bn=round(accuracy, 4), wall_time_s=wall_time)


if __name__ == "__main__":
    main()
