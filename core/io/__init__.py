"""Files to study model: loading JPEG/PNG/DICOM into Study → Series → Slice, windowing, colour, sequence."""
