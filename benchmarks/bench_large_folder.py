"""Open a 2,000-file study folder of mixed content: scan time, peak memory, and how promptly a scan cancels.

    .venv/bin/python benchmarks/bench_large_folder.py [--files 2000] [--keep DIR]

The folder holds classic MR DICOM series (written by tests/dicom_factory.py), one enhanced multi-frame MR, JPEGs,
random junk, zero-byte files and truncated DICOM. Each measurement runs in a fresh child process so that its peak
RSS (ru_maxrss) is its own, not the folder generator's:

- scan: `load_study(folder)` (headers only) — time, files/s, series found, files skipped, peak RSS;
- decode: additionally decode and window every slice once — peak RSS stays bounded by the pixel caches;
- cancel: `should_cancel` turns true once the scan has passed `--cancel-after` files — time from the request to
  `load_study` returning.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# Share of the folder per kind of content; the DICOM share is split into series of SLICES_PER_SERIES files.
MIX = {"dicom": 0.60, "jpeg": 0.20, "junk": 0.10, "empty": 0.05, "truncated": 0.05}
SLICES_PER_SERIES = 120
DICOM_SIDE = 256


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def write_mixed_folder(folder: Path, total_files: int) -> dict[str, int]:
    """Write the mixed study folder; returns how many files of each kind were written."""
    from tests.dicom_factory import write_enhanced_mr, write_mr_series

    counts = {kind: int(round(total_files * share)) for kind, share in MIX.items()}
    counts["dicom"] = total_files - sum(count for kind, count in counts.items() if kind != "dicom")
    rng = np.random.default_rng(0)
    written_dicom: list[Path] = [write_enhanced_mr(folder / "enhanced.dcm", n_frames=24)]
    series_index = 0
    while len(written_dicom) < counts["dicom"]:
        size = min(SLICES_PER_SERIES, counts["dicom"] - len(written_dicom))
        written_dicom += write_mr_series(folder / f"series{series_index:02d}", n_slices=size, rows=DICOM_SIDE,
                                         cols=DICOM_SIDE, seed=series_index, SeriesDescription=f"T{series_index}")
        series_index += 1
    samples = sorted((REPO_ROOT / "resources" / "sample_study").glob("*.jpg"))
    for index in range(counts["jpeg"]):
        shutil.copyfile(samples[index % len(samples)], folder / f"photo_{index:04d}.jpg")
    junk = folder / "junk"
    junk.mkdir()
    for index in range(counts["junk"]):
        (junk / f"file{index:04d}{'.dcm' if index % 2 else ''}").write_bytes(rng.bytes(int(rng.integers(1, 65536))))
    for index in range(counts["empty"]):
        (junk / f"empty{index:04d}.dcm").write_bytes(b"")
    for index in range(counts["truncated"]):
        data = written_dicom[index % len(written_dicom)].read_bytes()
        (junk / f"truncated{index:04d}.dcm").write_bytes(data[: int(rng.integers(132, len(data) - 1))])
    return counts


def measure_scan(folder: Path, decode_all: bool) -> dict[str, float]:
    from core.io.load import load_study

    baseline = peak_rss_mib()
    started = time.perf_counter()
    study = load_study(folder)
    scan_seconds = time.perf_counter() - started
    slices = [slice_ for series in study.series for slice_ in series.slices]
    result = {"scan_s": scan_seconds, "series": len(study.series), "slices": len(slices),
              "skipped": len(study.skipped), "rss_after_imports_mib": baseline, "peak_rss_mib": peak_rss_mib()}
    if decode_all:
        started = time.perf_counter()
        undecodable = 0
        for slice_ in slices:
            try:
                slice_.display()
            except Exception:  # truncated files are expected to fail here; only the count matters
                undecodable += 1
        result.update(decode_s=time.perf_counter() - started, undecodable=undecodable, peak_rss_mib=peak_rss_mib())
    return result


def measure_cancel(folder: Path, cancel_after: int) -> dict[str, float]:
    from core.io.load import load_study

    requested_at: list[float] = []

    def progress(done: int, total: int) -> None:
        if done == cancel_after:
            requested_at.append(time.perf_counter())

    study = load_study(folder, progress=progress, should_cancel=lambda: bool(requested_at))
    returned_at = time.perf_counter()
    scanned = sum(len(series) for series in study.series) + len(study.skipped)
    return {"cancel_after_files": cancel_after, "cancelled": study.cancelled, "items_returned": scanned,
            "cancel_latency_ms": (returned_at - requested_at[0]) * 1000 if requested_at else float("nan")}


def run_child(mode: str, folder: Path, cancel_after: int) -> dict[str, float]:
    """One measurement in a fresh interpreter, so peak RSS is not inherited from the generator."""
    command = [sys.executable, __file__, "--child", mode, "--folder", str(folder), "--cancel-after", str(cancel_after)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--cancel-after", type=int, default=500)
    parser.add_argument("--keep", type=Path, help="write the folder here and keep it")
    parser.add_argument("--child", choices=("scan", "decode", "cancel"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measurements = {"scan": lambda: measure_scan(args.folder, decode_all=False),
                        "decode": lambda: measure_scan(args.folder, decode_all=True),
                        "cancel": lambda: measure_cancel(args.folder, args.cancel_after)}
        print(json.dumps(measurements[args.child]()))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-folder-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        counts = write_mixed_folder(folder, args.files)
        print(f"folder: {sum(counts.values())} files {counts} written in {time.perf_counter() - started:.0f} s")
        for mode in ("scan", "decode", "cancel"):
            print(f"{mode}: {json.dumps(run_child(mode, folder, args.cancel_after))}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
