"""The classifier: class labels, the one preprocessing, the network, the released model and its out-of-distribution
gate, and the helper process that runs it."""
