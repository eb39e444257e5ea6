"""imbalanced-learn's ``Pipeline``: samplers act in ``fit`` only, never at ``predict``."""

from imblearn.pipeline import Pipeline, make_pipeline

__all__ = ["Pipeline", "make_pipeline"]
