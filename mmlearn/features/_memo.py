"""Re-export of the per-sample feature memo, which lives in :mod:`mmlearn._caching`."""

from .._caching import FeatureMemo, resolve_feature_memo as _resolve_memory, sample_key as _sample_key

__all__ = ["FeatureMemo", "_resolve_memory", "_sample_key"]
