"""The docks beside the viewer: series, results, overlay, metadata, skipped files and cases."""
