"""Strict expected failures for sklearn's estimator checks (a listed check must still fail).

``parametrize_with_checks(expected_failed_checks=...)`` marks listed checks
as non-strict xfails, so a check that starts passing goes unnoticed; these
helpers make a listed check fail the test if it passes.
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import estimator_checks_generator


def check_name(check) -> str:
    return getattr(check, "func", check).__name__


def run_check_strict(estimator, check, expected_failed: dict) -> None:
    """Run ``check``; if it is listed in ``expected_failed``, require that it fails."""
    if check_name(check) in expected_failed:
        with pytest.raises(Exception):
            check(estimator)
    else:
        check(estimator)


def assert_listed_checks_exist(estimator, expected_failed: dict) -> None:
    """Every listed check is one that sklearn runs on ``estimator``."""
    names = {check_name(c) for _, c in estimator_checks_generator(estimator)}
    assert set(expected_failed) <= names, set(expected_failed) - names
