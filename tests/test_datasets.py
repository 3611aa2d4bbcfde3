import numpy as np
import pytest
import soundfile as sf

from mmlearn.datasets import (
    load_20newsgroups,
    load_av_digits,
    load_fsdd,
    load_mnist,
    pair_av_digits,
)


def test_embedded_av_digits_layout():
    data = load_av_digits()
    frame = data.frame
    assert len(frame) == 2400
    assert list(data.data.columns) == ["audio", "image"]
    assert (frame["split"] == "test").sum() == 300
    assert set(frame["target"]) == set(range(10))
    assert all(a.dtype == np.float32 and a.ndim == 1 for a in frame["audio"])
    assert all(im.dtype == np.uint8 and im.shape == (28, 28) for im in frame["image"])
    np.testing.assert_array_equal(frame["split"] == "test", frame["index"] < 5)
    assert frame["mnist_index"].is_unique
    assert "CC BY-SA 4.0" in data.DESCR and "CC BY-SA 3.0" in data.DESCR
    X, y = load_av_digits(return_X_y=True)
    np.testing.assert_array_equal(y, frame["target"])


def test_embedded_equals_local_copies(shared_data):
    """Each embedded row is the FSDD recording and MNIST image it claims to be."""
    data = load_av_digits()
    frame = data.frame
    images, target = load_mnist(shared_data, return_X_y=True)
    for i in [0, 1, 777, 2399]:
        row = frame.iloc[i]
        wav = shared_data / "fsdd" / "recordings" / f"{row.target}_{row.speaker}_{row['index']}.wav"
        ref, sr = sf.read(wav, dtype="float32")
        assert sr == 8000
        np.testing.assert_array_equal(row.audio, ref)
        np.testing.assert_array_equal(row.image, images[row.mnist_index])
        assert target[row.mnist_index] == row.target
    full = load_av_digits(data_dir=shared_data).frame
    assert len(full) == 3000 and (full["split"] == "train").sum() == 2700
    sub = full[full["index"] < 40].reset_index(drop=True)
    key = ["target", "speaker", "index"]
    merged = sub.merge(frame, on=key, suffixes=("_full", "_emb"))
    assert len(merged) == 2400
    np.testing.assert_array_equal(merged["mnist_index_full"], merged["mnist_index_emb"])


def test_pairing_is_deterministic_and_label_consistent():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 3, size=30)
    b = rng.integers(0, 3, size=200)
    idx = pair_av_digits(a, b)
    np.testing.assert_array_equal(b[idx], a)
    assert len(set(idx)) == 30
    np.testing.assert_array_equal(idx, pair_av_digits(a, b))
    with pytest.raises(ValueError, match="digit 0: 3 recordings but only 1 images"):
        pair_av_digits(np.array([0, 0, 0]), np.array([0, 1]))


def test_local_loaders(shared_data):
    fsdd = load_fsdd(shared_data / "fsdd")
    assert len(fsdd.frame) == 3000 and fsdd.sr == 8000
    assert (fsdd.frame["split"] == "test").sum() == 300
    images, target = load_mnist(shared_data, return_X_y=True)
    assert images.shape == (10000, 28, 28) and np.bincount(target)[0] == 980
    news = load_20newsgroups(shared_data, subset="test")
    assert len(news.data) == 7532 and len(news.target_names) == 20
    assert news.frame["split"].eq("test").all()


@pytest.mark.parametrize(
    "loader, name",
    [(load_fsdd, "FSDD"), (load_mnist, "MNIST"), (load_20newsgroups, "20 Newsgroups")],
)
def test_missing_directory_is_a_clear_error(tmp_path, loader, name):
    with pytest.raises(FileNotFoundError, match=f"{name} not found"):
        loader(tmp_path)


def test_bad_subset(shared_data):
    with pytest.raises(ValueError, match="subset must be"):
        load_20newsgroups(shared_data, subset="validation")
