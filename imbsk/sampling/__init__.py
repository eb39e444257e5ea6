"""Samplers with imbalanced-learn's ``fit_resample`` API, for tabular data and images alike.

``RandomOverSampler``, ``RandomUnderSampler``, ``ReplicateOverSampler`` and ``AugmentedOverSampler``
accept X of any dimension ``(n_samples, ...)`` and keep its dtype; :class:`NDSampler` runs any other
imbalanced-learn sampler on such X by flattening it. :class:`RatioStrategy` gives their
``sampling_strategy`` as ratios of the class counts, on any number of classes. imbalanced-learn's common
samplers are re-exported so that a pipeline needs one import; used directly they take 2-D X only.
"""

from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE
from imblearn.under_sampling import EditedNearestNeighbours, NearMiss, TomekLinks

from ._adapter import NDSampler
from ._augmented import AugmentedOverSampler
from ._generative import ConditionalVAEOverSampler, LatentSMOTEOverSampler
from ._random_over import RandomOverSampler
from ._random_under import RandomUnderSampler
from ._ratio import RatioStrategy
from ._replicate import ReplicateOverSampler

__all__ = [
    "ADASYN",
    "AugmentedOverSampler",
    "BorderlineSMOTE",
    "ConditionalVAEOverSampler",
    "EditedNearestNeighbours",
    "LatentSMOTEOverSampler",
    "NDSampler",
    "NearMiss",
    "RandomOverSampler",
    "RandomUnderSampler",
    "RatioStrategy",
    "ReplicateOverSampler",
    "SMOTE",
    "SMOTEENN",
    "SMOTETomek",
    "TomekLinks",
]
