"""Qt desktop application: views and wiring over `core` (no pixel decoding, inference or report layout here)."""
