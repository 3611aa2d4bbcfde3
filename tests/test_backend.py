import numpy as np
import pytest

import mmlearn
from mmlearn import backend
from mmlearn.backend import get_namespace, namespace_of, resolve_device, to_host, to_namespace


def test_config_context_and_thread_local_defaults():
    assert mmlearn.get_config()["device"] == "auto"
    with mmlearn.config_context(device="cpu"):
        assert mmlearn.get_config()["device"] == "cpu"
        assert resolve_device() == "cpu"
    assert mmlearn.get_config()["device"] == "auto"
    with pytest.raises(ValueError, match="device must be one of"):
        mmlearn.set_config(device="tpu")


def test_cpu_namespace_and_host_round_trip():
    assert get_namespace("cpu") is np
    a = np.arange(4.0)
    assert namespace_of(a) is np
    assert to_host(a) is a
    np.testing.assert_array_equal(to_namespace([1, 2], np, dtype=np.float32), [1.0, 2.0])


def test_auto_follows_gpu_availability():
    expected = "cuda" if backend.gpu_available() else "cpu"
    assert resolve_device("auto") == expected


def test_cuda_without_gpu_says_how_to_install(monkeypatch):
    monkeypatch.setattr(backend, "_probe_cupy", lambda: (None, "CuPy could not be imported (ImportError: no cupy)"))
    with pytest.raises(RuntimeError, match=r"device='cuda' was requested but CuPy could not be imported.*mmlearn\[gpu\]"):
        resolve_device("cuda")
    assert resolve_device("auto") == "cpu"
    with mmlearn.config_context(device="cuda"):
        with pytest.raises(RuntimeError, match="gpu"):
            get_namespace()


@pytest.mark.skipif(not backend.gpu_available(), reason="needs a CUDA GPU and cupy")
def test_cupy_round_trip():
    import cupy

    xp = get_namespace("cuda")
    assert xp is cupy
    d = to_namespace(np.arange(3.0), xp)
    assert namespace_of(d) is cupy
    np.testing.assert_array_equal(to_host(d), [0.0, 1.0, 2.0])
