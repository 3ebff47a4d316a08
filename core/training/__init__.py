"""Training, weight porting and evaluation of the shipped classifier (see models/MODEL_CARD.md for how to rerun)."""
