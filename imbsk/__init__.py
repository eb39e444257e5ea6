"""imbsk: scikit-learn compatible tools for learning from class-imbalanced data, images above all."""

from .classifier import CNNClassifier

__version__ = "0.1.0"

__all__ = ["CNNClassifier", "__version__"]
