"""The pixel data: whether it can be decoded, checked when the header is read, and decoding one frame on demand.

At header time: the transfer syntax (PS3.5 §10; native encodings PS3.5 §8, encapsulated/compressed ones PS3.5 A.4)
must have an installed decoder, native pixel data must be as long as the image it describes, so truncated files
are caught before anyone tries to display them, and encapsulated pixel data must have a fragment for every frame
the header claims. At display time `DicomPixelSource` decodes one frame through
pydicom and its plugins (pylibjpeg, openjpeg, libjpeg, rle, pillow), applies the Modality LUT / rescale (PS3.3
C.11.1) or converts colour to gray (`core.io.colour.luma`; palette colour through its LUT, PS3.3 C.7.6.3.1.5), and
applies the file's VOI LUT when asked (PS3.3 C.11.2.1.1).
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi, get_decoder, pixel_array
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from core.errors import UnreadableFileError
from core.io.colour import luma
from core.io.dicom.text import tag_rows

PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float Pixel Data, Double Float Pixel Data
_UNDEFINED_LENGTH = 0xFFFFFFFF
#: Item tag (FFFE,E000) of encapsulated pixel data (PS3.5 A.4), as (group, element) in a little-endian item header.
_ITEM_TAG = (0xFFFE, 0xE000)
_NATIVE_SYNTAXES = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian)


#: What a header value the pixel transforms cannot use (a text or multi-valued Rescale Slope, a LUT without its
#: descriptor) raises in numpy or pydicom: that file's fault, reported for it, never the series'.
_HEADER_VALUE_ERRORS = (ValueError, TypeError, AttributeError, KeyError, IndexError)


@dataclass(frozen=True, eq=False)
class DicomPixelSource:
    """Decodes one frame on demand and applies the modality LUT (PS3.3 C.11.1) or converts colour to gray."""

    path: Path
    frame: int | None
    cache_key: tuple
    header: Dataset = field(repr=False)
    #: Dataset holding this frame's RescaleSlope/Intercept or Modality LUT (a functional-group item when enhanced).
    modality: Dataset = field(repr=False)
    #: Dataset holding this frame's VOI LUT Sequence, if any.
    voi: Dataset = field(repr=False)
    #: Set when the file has no transfer syntax but its encoding was recognised while reading (native pixels only).
    transfer_syntax: UID | None = None

    def decode(self) -> np.ndarray:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # padding / VR oddities pydicom copes with; real failures raise
                pixels = self._decode_stored_values()
        except (KeyboardInterrupt, SystemExit):
            raise
        # pydicom and its decoder plugins raise many unrelated types; the Rust decoders (pylibjpeg-rle) report
        # damaged data by panicking, which pyo3 raises as PanicException, a BaseException (found by fuzzing).
        except BaseException as error:
            detail = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
            raise UnreadableFileError(self.path, f"the pixel data could not be decoded ({detail})") from error
        try:
            values = luma(pixels) if pixels.ndim == 3 else apply_modality_lut(pixels, self.modality).astype(np.float32)
        except _HEADER_VALUE_ERRORS as error:
            raise UnreadableFileError(self.path, f"the pixel values could not be rescaled ({error})") from error
        if not np.isfinite(values).all():  # a NaN or infinite value would turn the whole series' window into NaN
            raise UnreadableFileError(self.path, "the pixel data holds values that are not finite numbers")
        return values

    def _decode_stored_values(self) -> np.ndarray:
        dataset = pydicom.dcmread(self.path, force=True)
        if self.transfer_syntax is not None:
            dataset.file_meta.TransferSyntaxUID = self.transfer_syntax
        # index= decodes only the requested frame; colour data comes back as RGB (YBR converted by pydicom).
        pixels = pixel_array(dataset, index=self.frame)
        if dataset.get("PhotometricInterpretation") == "PALETTE COLOR":
            pixels = apply_color_lut(pixels, dataset)
        return pixels

    def voi_lut(self, pixels: np.ndarray) -> np.ndarray | None:
        """The file's VOI LUT (PS3.3 C.11.2.1.1) scaled to [0, 1]."""
        sequence = self.voi.get("VOILUTSequence")
        if not sequence:
            return None
        try:
            bits = int(sequence[0].LUTDescriptor[2])
            indices = np.rint(pixels).astype(np.int64)  # LUT entries are addressed by integer modality values
            return (apply_voi(indices, self.voi).astype(np.float32) / float(2**bits - 1)).clip(0.0, 1.0)
        except _HEADER_VALUE_ERRORS as error:
            raise UnreadableFileError(self.path, f"the VOI LUT could not be applied ({error})") from error

    def tags(self) -> list[tuple[str, str, str]]:
        try:
            return tag_rows(self.header)
        except Exception as error:  # deferred values are read from disk now; the file may have changed or be bad
            raise UnreadableFileError(self.path, f"the DICOM tags could not be read ({error})") from error


def transfer_syntax_override(path: Path, dataset: Dataset,
                             pixel_element: DataElement | RawDataElement) -> UID | None:
    """The file's transfer syntax, or the one recognised while parsing when the file meta lacks it; checks that a
    decoder is installed for compressed syntaxes. Returns the UID to impose at decode time (None = file's own)."""
    declared = dataset.file_meta.get("TransferSyntaxUID") if dataset.file_meta else None
    if declared is None:
        if _undefined_length(pixel_element):
            raise UnreadableFileError(path, "the file does not say how its compressed pixels are encoded "
                                            "(no Transfer Syntax UID)")
        implicit, little = dataset.original_encoding
        return ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    syntax = UID(str(declared))
    if syntax.is_compressed and not decoder_available(syntax):
        raise UnreadableFileError(path, f"the pixels are compressed as {syntax.name or syntax}, and no decoder for "
                                        "it is installed")
    return None


def _undefined_length(element: DataElement | RawDataElement) -> bool:
    """Whether the element is encoded with undefined length, as encapsulated (compressed) pixel data is (PS3.5 A.4)."""
    if isinstance(element, RawDataElement):
        return element.length == _UNDEFINED_LENGTH
    return element.is_undefined_length


def decoder_available(syntax: UID) -> bool:
    """Whether an installed pydicom plugin (pylibjpeg, openjpeg, libjpeg, rle, pillow) decodes this syntax."""
    try:
        return get_decoder(syntax).is_available
    except NotImplementedError:  # syntaxes pydicom has no decoder interface for (video, JPIP, ...)
        return False


def check_pixel_length(path: Path, dataset: Dataset, element: DataElement | RawDataElement, frames: int) -> None:
    """Native pixel data must hold rows × cols × frames × samples × bits bytes and end inside the file."""
    syntax = dataset.file_meta.get("TransferSyntaxUID") if dataset.file_meta else None
    if syntax not in (None, *_NATIVE_SYNTAXES) or not isinstance(element, RawDataElement):
        return  # compressed or deflated: file offsets say nothing about the image size; the decoder checks
    # YBR_FULL_422 stores two values per pixel, not three (PS3.3 C.7.6.3.1.2).
    samples = 2 if dataset.PhotometricInterpretation == "YBR_FULL_422" else int(dataset.get("SamplesPerPixel", 1))
    bits = int(dataset.BitsAllocated) * int(dataset.Rows) * int(dataset.Columns) * frames * samples
    expected = math.ceil(bits / 8)
    available = min(element.length, path.stat().st_size - element.value_tell)
    if available < expected:
        raise UnreadableFileError(path, f"the pixel data is incomplete ({max(available, 0)} of {expected} bytes); "
                                        "the file is probably truncated")


def check_frame_count(path: Path, element: DataElement | RawDataElement, frames: int) -> None:
    """Encapsulated (compressed) pixel data must have a fragment for each frame the header claims.

    Each frame is stored in one or more fragments (PS3.5 A.4), so more frames than non-empty fragments is damage,
    or a frame-count bomb: a 300 kB file claiming 300,000 frames would otherwise become 300,000 slices. Native pixel
    data is weighed by `check_pixel_length` instead. Only the 8-byte item headers are read, never the pixels, and no
    more of them than `frames` + 1.
    """
    if not _undefined_length(element):
        return
    fragments = _count_fragments(path, element, frames)
    if fragments < frames:
        raise UnreadableFileError(path, f"the header claims {frames} frames, but its compressed pixel data holds at "
                                        f"most {fragments}")


def _count_fragments(path: Path, element: DataElement | RawDataElement, limit: int) -> int:
    """Non-empty fragments of encapsulated pixel data, counted up to `limit`, from the value in memory or, when it
    was left on disk (`defer_size`), from the file at the value's offset."""
    if not isinstance(element, RawDataElement) or element.value is not None:
        return _fragments_in(io.BytesIO(bytes(element.value or b"")), limit)
    with path.open("rb") as stream:
        stream.seek(element.value_tell)
        return _fragments_in(stream, limit)


def _fragments_in(stream: io.BufferedIOBase, limit: int) -> int:
    """Count the items after the first, the Basic Offset Table (PS3.5 A.4, present though possibly empty), up to the
    Sequence Delimitation Item. An empty item holds no frame; an item header that is damaged ends the count, so
    the frames it would have held are not counted."""
    fragments, items = 0, 0
    while fragments < limit:
        header = stream.read(8)
        if len(header) < 8:
            break
        group, element, length = struct.unpack("<HHL", header)  # encapsulated syntaxes are all little endian
        if (group, element) != _ITEM_TAG or length == _UNDEFINED_LENGTH:
            break  # the Sequence Delimitation Item (FFFE,E0DD), or damage
        if items and length:
            fragments += 1
        items += 1
        stream.seek(length, io.SEEK_CUR)
    return fragments
