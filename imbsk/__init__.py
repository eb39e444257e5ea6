"""imbsk: scikit-learn compatible tools for learning from class-imbalanced data, images above all."""

__version__ = "0.1.0"

from .classifier import CNNClassifier  # noqa: E402

__all__ = ["CNNClassifier", "__version__"]
