"""Picture files (JPEG, PNG, BMP, TIFF): one series per folder, natural order, gray display, no invented metadata."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.io.load import SeriesInfo, load_study
from core.io.pictures import natural_key
from core.io.windowing import FULL_RANGE_8BIT


def _gradient(rows: int = 64, cols: int = 48) -> np.ndarray:
    return (np.arange(rows * cols).reshape(rows, cols) % 256).astype(np.uint8)


def _write(path: Path, image: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), image)
    return path


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif"])
def test_lossless_picture_formats_round_trip(tmp_path, suffix):
    image = _gradient()
    path = _write(tmp_path / f"slice{suffix}", image)
    (series,) = load_study(path).series
    (slice_,) = series.slices
    assert slice_.shape == (64, 48)
    assert slice_.windows == [FULL_RANGE_8BIT]
    np.testing.assert_array_equal(slice_.display(), image)  # the full-range window is the identity
    assert slice_.label == path.name and slice_.frame is None


def test_jpeg_opens_with_its_size_from_the_header(tmp_path):
    path = _write(tmp_path / "slice.jpg", _gradient(40, 30))
    (slice_,) = load_study(path).series[0].slices
    assert slice_.shape == (40, 30)
    assert np.abs(slice_.display().astype(int) - _gradient(40, 30)).mean() < 8  # lossy, but close


def test_colour_picture_becomes_gray(tmp_path):
    colour = np.zeros((32, 32, 3), np.uint8)
    colour[..., 2] = 200  # OpenCV writes BGR: pure red
    (slice_,) = load_study(_write(tmp_path / "red.png", colour)).series[0].slices
    assert slice_.display()[0, 0] == round(0.299 * 200)


def test_sixteen_bit_png_gets_the_automatic_window(tmp_path):
    image = np.zeros((64, 64), np.uint16)
    image[16:48, 16:48] = 3000
    (slice_,) = load_study(_write(tmp_path / "deep.png", image)).series[0].slices
    assert slice_.windows == []
    assert slice_.modality_pixels()[32, 32] == 3000
    assert slice_.display()[32, 32] == 255 and slice_.display()[0, 0] == 0


def test_folder_of_pictures_is_one_series_in_natural_order(tmp_path):
    for number in (10, 2, 1, 33, 3):
        _write(tmp_path / f"img{number}.png", _gradient())
    loaded = load_study(tmp_path)
    (series,) = loaded.series
    assert [s.path.name for s in series.slices] == ["img1.png", "img2.png", "img3.png", "img10.png", "img33.png"]
    assert [s.index for s in series.slices] == list(range(5))
    assert series.info == SeriesInfo()  # nothing is known about pictures, so nothing is filled in
    assert series.slices[0].tags() == []
    assert series.description == f"{tmp_path.name} (5 slices)"


def test_subfolders_of_pictures_are_separate_series(tmp_path):
    for folder in ("b", "a"):
        (tmp_path / folder).mkdir()
        _write(tmp_path / folder / "x.png", _gradient())
    assert [s.slices[0].path.parent.name for s in load_study(tmp_path).series] == ["a", "b"]


def test_several_paths_open_together(tmp_path):
    paths = [_write(tmp_path / f"{n}.png", _gradient()) for n in ("one", "two")]
    loaded = load_study(paths)
    assert loaded.source == tmp_path
    assert len(loaded.series[0]) == 2


def test_content_decides_the_format_not_the_extension(tmp_path):
    path = tmp_path / "really_a_png.dcm"
    path.write_bytes(cv2.imencode(".png", _gradient())[1].tobytes())
    assert len(load_study(path).series) == 1


def test_non_ascii_paths_open(tmp_path):
    folder = tmp_path / "Überweisung 脳"
    folder.mkdir()
    (slice_,) = load_study(_write(folder / "bild.png", _gradient())).series[0].slices
    assert slice_.display().shape == (64, 48)


def test_natural_key_orders_numbers_by_value():
    names = ["a10", "a2", "A1", "b", "a2b", "a02"]
    assert sorted(names, key=natural_key) == ["A1", "a2", "a02", "a2b", "a10", "b"]


def test_original_sample_jpegs_open_and_decode(samples_original):
    loaded = load_study(samples_original)
    assert loaded.skipped == []
    assert sorted(s.slices[0].path.parent.name for s in loaded.series) == [
        "glioma", "meningioma", "notumor", "pituitary"
    ]
    assert sum(len(s) for s in loaded.series) == 24
    for series in loaded.series:
        assert series.info == SeriesInfo()
        for slice_ in series.slices:
            image = slice_.display()
            assert image.dtype == np.uint8 and image.shape == slice_.shape
            assert image.std() > 10, f"{slice_.label} should show anatomy"
