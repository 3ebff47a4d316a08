"""CPU speed of the shipped classifier, warm: load time, per-slice predict, per-slice predict + Grad-CAM, batch of 9.

    python benchmarks/bench_model.py [--model-dir models] [--repeats 20]

"predict" is the forward pass with calibrated probabilities and the OOD gate; "predict + Grad-CAM" adds the maps
for all four classes from the same forward pass. Their ratio (goal ≤ 1.2×) is measured in the same run. Images are
the 24 original sample JPEGs when present (else synthetic 512² slices), so preprocessing is included.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.model.classifier import Classifier
from core.paths import models_dir

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples-original"


def machine_description() -> str:
    model_name = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                       if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").is_file() \
        else platform.processor()
    return f"{model_name}; {os.cpu_count()} logical CPUs; {platform.system()} {platform.release()}; " \
           f"Python {platform.python_version()}"


def test_images() -> list[np.ndarray]:
    paths = sorted(SAMPLES.glob("*/*.jpg"))
    if paths:
        return [cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB) for path in paths]
    rng = np.random.default_rng(0)
    images = []
    for _ in range(24):
        image = np.zeros((512, 512), np.uint8)
        cv2.ellipse(image, (256, 256), (190, 220), 0, 0, 360, int(rng.integers(70, 120)), -1)
        images.append(cv2.GaussianBlur(image, (0, 0), 3))
    return images


def median_seconds(action, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=models_dir())
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    images = test_images()
    classifier = Classifier(args.model_dir)
    started = time.perf_counter()
    classifier.load()
    load_s = time.perf_counter() - started
    single, nine = images[:1], images[:9]
    for batch in (single, nine):  # warm-up: traces both compiled functions for these batch sizes
        classifier.predict(batch)
        classifier.predict(batch, with_cams=False)
    # Interleave the two single-slice measurements, alternating which goes first, so background load and cache
    # state affect both alike.
    bare, with_cams = [], []
    for repeat in range(args.repeats):
        measure_bare = lambda: bare.append(median_seconds(lambda: classifier.predict(single, with_cams=False), 1))
        measure_cams = lambda: with_cams.append(median_seconds(lambda: classifier.predict(single), 1))
        for measure in ((measure_bare, measure_cams) if repeat % 2 else (measure_cams, measure_bare)):
            measure()
    bare_s, cams_s = statistics.median(bare), statistics.median(with_cams)
    batch_s = median_seconds(lambda: classifier.predict(nine), max(3, args.repeats // 4))
    manifest = classifier.manifest
    print(f"machine: {machine_description()}")
    print(f"model: {manifest.name} {manifest.version}, input {manifest.input_size}², threads: TensorFlow default")
    print(f"load (sha256 check + TensorFlow import + build + weights): {load_s:.2f} s (first load in this process)")
    print(f"per-slice predict:              {bare_s * 1000:7.1f} ms (median of {args.repeats})")
    print(f"per-slice predict + Grad-CAM:   {cams_s * 1000:7.1f} ms  → ratio {cams_s / bare_s:.2f}× (goal ≤ 1.2×)")
    print(f"batch of 9 slices + Grad-CAM:   {batch_s * 1000:7.1f} ms ({batch_s / 9 * 1000:.1f} ms per slice)")


if __name__ == "__main__":
    main()
