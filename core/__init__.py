"""Qt-free library of the brain MRI decision-support application.

Importing this package never imports TensorFlow or Qt: the model is loaded lazily by
`core.model.classifier.Classifier.load`.
"""

__version__ = "0.1.0"
