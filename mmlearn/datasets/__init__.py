"""Datasets: the embedded AV-digits set and loaders for local copies of real data."""

from ._av_digits import load_av_digits, pair_av_digits
from ._local import load_20newsgroups, load_fsdd, load_mnist

__all__ = ["load_av_digits", "pair_av_digits", "load_fsdd", "load_mnist", "load_20newsgroups"]
