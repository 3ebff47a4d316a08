"""Loading benchmark (a script, not a test): a 300-slice synthetic MR series in a temporary folder.

Prints the headers-only open time, the first-slice decode time, the time to scroll every slice and the peak Python
heap while scrolling (tracemalloc, separate untimed pass), each next to the time it takes just to read the same
files' bytes from disk (page cache warm, so both sides measure CPU work, not the drive). POSIX only (resource).

    .venv/bin/python benchmarks/bench_loading.py [--slices 300] [--size 256]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing

from core.io import types as io_types  # noqa: E402
from core.io.load import load_study  # noqa: E402
from tests.dicom_factory import write_mr_series  # noqa: E402


def _read_all_bytes(paths: list[Path]) -> tuple[float, int]:
    start = time.perf_counter()
    total = sum(len(path.read_bytes()) for path in paths)
    return time.perf_counter() - start, total


def _scroll(series: io_types.Series) -> float:
    """Display every slice from empty caches, as a user scrolling through a freshly opened series."""
    io_types.PIXEL_CACHE.clear()
    io_types.DISPLAY_CACHE.clear()
    start = time.perf_counter()
    for slice_ in series.slices:
        slice_.display()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=256, help="rows = columns of each slice")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        paths = write_mr_series(Path(folder), n_slices=options.slices, rows=options.size, cols=options.size)
        _read_all_bytes(paths)  # warm the OS page cache so both sides are timed from memory, not the disk
        read_seconds, total_bytes = _read_all_bytes(paths)

        start = time.perf_counter()
        loaded = load_study(Path(folder))
        open_seconds = time.perf_counter() - start
        (series,) = loaded.series

        start = time.perf_counter()
        series.slices[0].display()
        first_seconds = time.perf_counter() - start
        one_file_seconds = read_seconds / len(paths)

        scroll_seconds = _scroll(series)
        tracemalloc.start()  # a second, traced pass: tracing slows allocation, so it is not timed
        _scroll(series)
        _, peak_bytes = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    mib = 1024**2
    print(f"series: {options.slices} slices of {options.size}×{options.size}, 16-bit, "
          f"{total_bytes / mib:.1f} MiB on disk")
    print(f"read all bytes from disk (page cache):   {read_seconds * 1000:8.1f} ms")
    print(f"load_study, headers only:                {open_seconds * 1000:8.1f} ms "
          f"({open_seconds / read_seconds:.1f}× reading the bytes)")
    print(f"first slice decode + display:            {first_seconds * 1000:8.1f} ms "
          f"({first_seconds / one_file_seconds:.1f}× reading that one file)")
    print(f"scroll all slices (decode + display):    {scroll_seconds * 1000:8.1f} ms "
          f"({scroll_seconds / read_seconds:.1f}× reading the bytes)")
    print(f"peak Python heap while scrolling:        {peak_bytes / mib:8.1f} MiB "
          f"(pixel cache bound {io_types.PIXEL_CACHE.max_bytes / mib:.0f} MiB, "
          f"display cache bound {io_types.DISPLAY_CACHE.max_bytes / mib:.0f} MiB)")
    print(f"process peak RSS (whole run):            {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.1f} MiB")


if __name__ == "__main__":
    main()
