"""From slices to a verdict: which slices, the per-slice and study results, the Grad-CAM overlay and the probability
profile."""
