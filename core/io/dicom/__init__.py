"""DICOM specifics (pydicom), one module per concern; importing one never pulls in its siblings.

- `header`: reading one file's header (PS3.10 file format) into `FrameHeader`s: the series fields (including the
  PHI ones), VOI windows (PS3.3 C.11.2) and the frames of a multi-frame object; `read_file` is the entry point.
- `elements`: where a frame's value lives (classic dataset, or an enhanced object's functional groups, PS3.3
  C.7.6.16) and reading one element so that a damaged value costs only that field.
- `geometry`: the Image Plane module (PS3.3 C.7.6.2): orientation, position, pixel spacing, slice normal, plane name.
- `series`: grouping frames into series and ordering them along the slice normal.
- `pixels`: the pixel data: transfer syntax and length checks at header time (PS3.5 8, A.4), then decoding, the
  Modality LUT (PS3.3 C.11.1), the file's VOI LUT (C.11.2) and colour to gray.
- `dicomdir`: the files a DICOMDIR references (PS3.10 §8, PS3.3 F.3).
- `text`: values as text: person names and dates (PS3.5 6.2), the tag table.
"""
