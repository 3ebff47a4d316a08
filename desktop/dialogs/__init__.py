"""Modal windows: preferences, help and model information."""
