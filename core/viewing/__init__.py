"""Display-side computations the viewer and the report share: contrast enhancement, orientation letters, distances,
the scale bar."""
