"""Estimator-level fusion: voting, stacking, ensemble selection, weight search.

Members are ``(name, estimator)`` pairs, usually
:class:`~mmlearn.compose.Modality` objects (one column of a multimodal
table each); rows that lack a member's modality are fused over the members
they have. Fitted members are cached (:class:`FittedMemberCache`), so a
search over fusion parameters fits each member once per fold.
"""

from ._cache import FittedMemberCache, default_member_cache
from .selection import EnsembleSelectionClassifier
from .search import FusionWeightSearchCV, simplex_grid
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
    "default_member_cache",
    "simplex_grid",
]
