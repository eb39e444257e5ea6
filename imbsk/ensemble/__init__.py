"""Ensembles of members trained on re-balanced subsets, for tables and images alike.

:class:`SelfPacedEnsembleClassifier` and :class:`BalanceCascadeClassifier` choose each member's
majority subset from the predictions of the members before it. :class:`BalancedBaggingClassifier`,
:class:`EasyEnsembleClassifier` and :class:`RUSBoostClassifier` are imbalanced-learn's, made to accept X of
any dimension. Every one takes any base estimator (a scikit-learn classifier, a
:class:`~imbsk.CNNClassifier`, a pipeline) and gives members rows of ``X`` in its own shape and dtype.
"""

from ._cascade import BalanceCascadeClassifier
from ._nd import BalancedBaggingClassifier, EasyEnsembleClassifier, RUSBoostClassifier
from ._self_paced import SelfPacedEnsembleClassifier

__all__ = [
    "BalanceCascadeClassifier",
    "BalancedBaggingClassifier",
    "EasyEnsembleClassifier",
    "RUSBoostClassifier",
    "SelfPacedEnsembleClassifier",
]
