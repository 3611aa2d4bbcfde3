"""Estimator-level fusion: voting, stacking, ensemble selection, weight search.

Members are ``(name, estimator)`` pairs, usually
:class:`~mmlearn.compose.Modality` objects (one column of a multimodal
table each); rows that lack a member's modality are fused over the members
they have. Caching is opt-in: pass a :class:`FittedMemberCache` as ``memory`` and
a search over fusion parameters fits each member once per fold.
"""

from .._caching import FittedMemberCache
from .selection import EnsembleSelectionClassifier
from ._weights import simplex_grid
from .search import FusionWeightSearchCV
from .stacking import StackingFusionClassifier, StackingFusionRegressor
from .voting import VotingFusionClassifier, VotingFusionRegressor

__all__ = [
    "EnsembleSelectionClassifier",
    "FittedMemberCache",
    "FusionWeightSearchCV",
    "StackingFusionClassifier",
    "StackingFusionRegressor",
    "VotingFusionClassifier",
    "VotingFusionRegressor",
    "simplex_grid",
]
