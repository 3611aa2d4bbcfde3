"""Batched feature kernels, written once against an array namespace ``xp``.

Every kernel is a pure, keyword-only function of a batch of samples and the
namespace ``xp`` (``numpy`` or ``cupy``). Kernels never move data to the host;
the estimators in :mod:`mmlearn.features` do that once, at the boundary.
"""

from __future__ import annotations
