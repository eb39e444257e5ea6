"""imbsk: scikit-learn compatible tools for learning from class-imbalanced data, images above all."""

__version__ = "0.1.0"

__all__ = ["__version__"]
