"""Shared fixtures: where the real datasets live."""

import os
from pathlib import Path

import pytest
import scipy.linalg  # noqa: F401  (load scipy's own BLAS before limiting it)
from threadpoolctl import threadpool_limits

# Tests fit many tiny models; with 2 OpenBLAS threads each small product pays
# thread wake-ups (3-30x slower on a loaded 2-core machine). One thread.
_BLAS_LIMIT = threadpool_limits(limits=1, user_api="blas")

DATA_DIR = Path(
    os.environ.get("MMLEARN_DATA_DIR", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real datasets (env MMLEARN_DATA_DIR, default ../shared/data)."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"real datasets not found at {DATA_DIR} (set MMLEARN_DATA_DIR)")
    return DATA_DIR
