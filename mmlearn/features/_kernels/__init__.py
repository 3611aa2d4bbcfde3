"""Batched feature kernels, written once against an array namespace ``xp``.

Every kernel is a pure, keyword-only function of a batch of samples and the
namespace ``xp`` (``numpy`` or ``cupy``). Kernels never move data to the host;
the estimators in :mod:`mmlearn.features` do that once, at the boundary.
One module per feature, as skimage keeps ``_hog.py``: :mod:`._hog`,
:mod:`._mfcc` (MFCC, deltas, pooling) and :mod:`._conv`.
"""
