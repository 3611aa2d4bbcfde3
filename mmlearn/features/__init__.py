"""Per-modality feature extractors, all scikit-learn transformers."""

from ._memo import FeatureMemo

__all__ = ["FeatureMemo"]
