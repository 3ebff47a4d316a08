"""The image views: the slice viewer and its tools, the probability profile and the three-panel view."""
