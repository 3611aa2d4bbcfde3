"""sklearn's estimator checks for every fusion estimator (numeric X, plain members)."""

from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from mmlearn.fusion import (
    EnsembleSelectionClassifier,
    FusionWeightSearchCV,
    StackingFusionClassifier,
    StackingFusionRegressor,
    VotingFusionClassifier,
    VotingFusionRegressor,
)


def _clf_members():
    return [
        ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
        ("lr", LogisticRegression()),
    ]


def _reg_members():
    return [
        ("tree", DecisionTreeRegressor(max_depth=3, random_state=0)),
        ("lin", Ridge()),
    ]


ESTIMATORS = [
    VotingFusionClassifier(_clf_members()),
    VotingFusionClassifier(_clf_members(), voting="hard", weights=[1, 2]),
    VotingFusionRegressor(_reg_members(), weights=[1, 3]),
    StackingFusionClassifier(_clf_members(), cv=3),
    StackingFusionRegressor(_reg_members(), cv=3),
    EnsembleSelectionClassifier(_clf_members(), n_iter=5, cv=3),
    FusionWeightSearchCV(VotingFusionClassifier(_clf_members()), step=0.5, cv=3),
    FusionWeightSearchCV(VotingFusionRegressor([("lin", LinearRegression()), ("tree", DecisionTreeRegressor(max_depth=3, random_state=0))]), step=0.5, cv=3),
]


def _expected_failures(estimator):
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
