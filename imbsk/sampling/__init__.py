"""Samplers with imbalanced-learn's ``fit_resample`` API.

imbalanced-learn's common samplers are re-exported here so that a pipeline needs one import.
"""

from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler
from imblearn.under_sampling import (
    EditedNearestNeighbours,
    NearMiss,
    RandomUnderSampler,
    TomekLinks,
)

__all__ = [
    "ADASYN",
    "BorderlineSMOTE",
    "EditedNearestNeighbours",
    "NearMiss",
    "RandomOverSampler",
    "RandomUnderSampler",
    "SMOTE",
    "SMOTEENN",
    "SMOTETomek",
    "TomekLinks",
]
