"""What leaves the application: the PDF report, JSON and DICOM exports, anonymisation and atomic writes."""
