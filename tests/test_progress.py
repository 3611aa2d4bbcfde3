"""One progress setting: set_config(progress=...), TQDM_DISABLE, plain lines off a terminal."""

import io

import pytest

import mmlearn
from mmlearn._progress import progress_bar, progress_enabled


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_auto_follows_the_terminal():
    with mmlearn.config_context(progress="auto"):
        assert progress_enabled(file=_Tty()) is True
        assert progress_enabled(file=io.StringIO()) is False


def test_global_switch_and_explicit_argument(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    with mmlearn.config_context(progress=False):
        assert progress_enabled(file=_Tty()) is False
        assert progress_enabled(True, file=io.StringIO()) is True  # the argument wins
    with mmlearn.config_context(progress=True):
        assert progress_enabled(file=io.StringIO()) is True
    assert mmlearn.get_config()["progress"] == "auto"


@pytest.mark.parametrize("value", ["1", "true", "True"])
def test_tqdm_disable_wins(monkeypatch, value):
    monkeypatch.setenv("TQDM_DISABLE", value)
    assert progress_enabled(True, file=_Tty()) is False
    out = _Tty()
    assert list(progress_bar(range(3), desc="x", progress=True, file=out)) == [0, 1, 2]
    assert out.getvalue() == ""


def test_off_a_terminal_prints_whole_lines_without_carriage_returns(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    out = io.StringIO()
    assert sum(progress_bar(range(25), desc="extract", progress=True, file=out)) == 300
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0].startswith("extract: 3/25") and lines[-1].startswith("extract: 25/25")
    assert len(lines) <= 12
    out = io.StringIO()
    with progress_bar(total=4, desc="cv", progress=True, file=out) as bar:
        for _ in range(4):
            bar.set_postfix_str("fold")
            bar.update()
    assert out.getvalue().splitlines()[-1].startswith("cv: 4/4") and "[fold]" in out.getvalue()


def test_on_a_terminal_it_is_tqdm(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    out = _Tty()
    list(progress_bar(range(3), desc="bar", progress=True, leave=True, file=out))
    assert "bar" in out.getvalue() and "3/3" in out.getvalue()


def test_bad_setting_is_refused():
    with pytest.raises(ValueError, match="progress must be True, False, 'auto' or None; got 'yes'"):
        mmlearn.set_config(progress="yes")
    assert mmlearn.get_config()["progress"] == "auto"


@pytest.mark.parametrize("value", ["no", "off", "false", 0, 1, "True"])
def test_a_bad_progress_argument_is_an_error_not_a_true_value(value, monkeypatch):
    from mmlearn.model_selection import evaluate

    monkeypatch.setenv("TQDM_DISABLE", "1")  # the check comes before the environment switch
    with pytest.raises(ValueError, match=f"progress must be True, False, 'auto' or None; got {value!r}"):
        progress_enabled(value)
    with pytest.raises(ValueError, match="progress must be"):
        progress_bar(range(3), progress=value)
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2
    with pytest.raises(ValueError, match="progress must be"):
        evaluate(LogisticRegression(), X, y, cv=2, progress=value)


def test_numpy_bools_are_bools():
    assert progress_enabled(np.False_) is False
    with mmlearn.config_context(progress=np.True_):
        assert mmlearn.get_config()["progress"] is True


# ---------------------------------------------------------------- wiring
# pytest's capsys replaces sys.stderr with a stream that is not a terminal,
# which is what the bars write to: progress=True gives plain lines there.

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from mmlearn.compose import Modality  # noqa: E402
from mmlearn.features import ConvEmbedding, HOGFeatures, PretrainedEmbedding, Word2VecEmbedding  # noqa: E402
from mmlearn.features import _base as features_base  # noqa: E402
from mmlearn.fusion import EnsembleSelectionClassifier, StackingFusionClassifier  # noqa: E402

_N = features_base._PROGRESS_MIN_SAMPLES


def _images(n, seed=0, side=16):
    return np.random.default_rng(seed).random((n, side, side)).astype(np.float32)


def _progress_lines(text, desc):
    return [line for line in text.splitlines() if line.startswith(f"{desc}: ")]


def _check_complete(text, desc, total):
    lines = _progress_lines(text, desc)
    assert lines, f"no {desc!r} progress in {text!r}"
    assert lines[-1].startswith(f"{desc}: {total}/{total} ")
    assert 1 <= len(lines) <= 11
    assert "\r" not in text


@pytest.fixture
def no_tqdm_disable(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_batch_extractor_prints_loading_and_batches_off_a_terminal(capsys, no_tqdm_disable, n_jobs):
    images = _images(_N)
    hog = HOGFeatures(pixels_per_cell=(8, 8), cells_per_block=(1, 1), batch_size=100, n_jobs=n_jobs)
    with mmlearn.config_context(progress=False):
        expected = hog.transform(images)
    assert capsys.readouterr().err == ""
    with mmlearn.config_context(progress=True):
        got = hog.transform(images)
    np.testing.assert_array_equal(got, expected)  # the bar changes nothing
    err = capsys.readouterr().err
    _check_complete(err, "HOGFeatures loading", _N)
    _check_complete(err, "HOGFeatures batches", _N // 100)


def test_extraction_progress_is_silent_when_off_disabled_or_auto_off_a_terminal(
    capsys, monkeypatch, no_tqdm_disable
):
    images = _images(_N)
    hog = HOGFeatures(pixels_per_cell=(8, 8), cells_per_block=(1, 1), batch_size=100)
    with mmlearn.config_context(progress=False):
        hog.transform(images)
    with mmlearn.config_context(progress="auto"):  # the default; stderr is not a terminal
        hog.transform(images)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    with mmlearn.config_context(progress=True):
        hog.transform(images)
    assert capsys.readouterr().err == ""


def test_auto_on_a_terminal_shows_a_bar(monkeypatch, no_tqdm_disable):
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    with mmlearn.config_context(progress="auto"):
        HOGFeatures(pixels_per_cell=(8, 8), cells_per_block=(1, 1), batch_size=100).transform(_images(_N))
    assert "HOGFeatures loading" in tty.getvalue() and "HOGFeatures batches" in tty.getvalue()


def test_small_transforms_show_nothing_and_do_not_read_the_setting(capsys, monkeypatch, no_tqdm_disable):
    # Below the threshold no bar is made and the setting is not even read:
    # the small transforms of CV folds and predict pay nothing.
    def forbidden(*args, **kwargs):
        raise AssertionError("progress_enabled called for a small transform")

    monkeypatch.setattr(features_base, "progress_enabled", forbidden)
    with mmlearn.config_context(progress=True):
        HOGFeatures(pixels_per_cell=(8, 8), cells_per_block=(1, 1), batch_size=10).transform(_images(_N - 1))
        emb = Word2VecEmbedding(vector_size=4, epochs=1, random_state=0).fit(["a b", "b c"] * 10)
        emb.transform(["a c"] * (_N - 1))
    assert capsys.readouterr().err == ""


def test_memo_hits_do_not_count_towards_the_threshold(capsys, no_tqdm_disable):
    from mmlearn.features import FeatureMemo

    images = _images(_N)
    hog = HOGFeatures(pixels_per_cell=(8, 8), cells_per_block=(1, 1), memory=FeatureMemo())
    hog.transform(images[:10])
    with mmlearn.config_context(progress=True):
        hog.transform(images)  # 990 samples left to compute: below the threshold
    assert capsys.readouterr().err == ""


def test_word2vec_prints_tokenizing_and_training_epochs(capsys, no_tqdm_disable):
    rng = np.random.default_rng(0)
    words = np.array(["cat", "dog", "mat", "log", "sat", "ran"])
    texts = [" ".join(rng.choice(words, 5)) for _ in range(_N)]
    emb = Word2VecEmbedding(vector_size=4, epochs=3, random_state=0)
    with mmlearn.config_context(progress=True):
        X = emb.fit_transform(texts)
    err = capsys.readouterr().err
    _check_complete(err, "Word2VecEmbedding tokenizing", _N)
    _check_complete(err, "Word2VecEmbedding training (epochs)", 3)
    with mmlearn.config_context(progress=False):  # the callbacks change nothing
        X_quiet = Word2VecEmbedding(vector_size=4, epochs=3, random_state=0).fit_transform(texts)
    np.testing.assert_array_equal(X, X_quiet)
    assert capsys.readouterr().err == ""


def test_conv_embedding_prints_loading_and_batches(capsys, no_tqdm_disable):
    images = _images(_N, side=8)
    conv = ConvEmbedding(n_filters=4, patch_size=3, batch_size=250, random_state=0).fit(images[:50])
    with mmlearn.config_context(progress=True):
        conv.transform(images)
    err = capsys.readouterr().err
    _check_complete(err, "ConvEmbedding loading", _N)
    _check_complete(err, "ConvEmbedding batches", 4)


def test_pretrained_embedding_shows_progress_from_fewer_images(capsys, no_tqdm_disable):
    import torch

    from mmlearn.features import pretrained

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 2, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(2, 3),
    )
    n = pretrained._PROGRESS_MIN_IMAGES
    images = _images(n, side=8)
    emb = PretrainedEmbedding(model, input_size=(8, 8), batch_size=25).fit(images[:2])
    with mmlearn.config_context(progress=True):
        emb.transform(images)
        emb.transform(images[: n - 1])  # below the threshold: nothing
    err = capsys.readouterr().err
    _check_complete(err, "PretrainedEmbedding loading", n)
    _check_complete(err, "PretrainedEmbedding batches", 4)
    assert len(_progress_lines(err, "PretrainedEmbedding batches")) == 4  # one call only


def _two_modalities(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = pd.DataFrame({"a": y + rng.normal(0, 1.0, n), "b": y + rng.normal(0, 1.0, n)})
    members = [
        (c, Modality([c], LogisticRegression())) for c in ("a", "b")
    ]
    return X, y, members


@pytest.mark.parametrize("cls", [StackingFusionClassifier, EnsembleSelectionClassifier])
def test_out_of_fold_fits_are_counted(capsys, no_tqdm_disable, cls):
    X, y, members = _two_modalities()
    with mmlearn.config_context(progress=True):
        cls(members, cv=5).fit(X, y)
    err = capsys.readouterr().err
    # each member on all rows and on each of the 5 training parts
    _check_complete(err, f"{cls.__name__} out-of-fold fits", 2 + 2 * 5)
    with mmlearn.config_context(progress=False):
        cls(members, cv=5).fit(X, y)
    with mmlearn.config_context(progress="auto"):
        cls(members, cv=5).fit(X, y)
    assert capsys.readouterr().err == ""


def test_out_of_fold_fits_with_parallel_jobs_and_cache(capsys, no_tqdm_disable):
    import joblib

    from mmlearn.fusion import FittedMemberCache

    X, y, members = _two_modalities()
    cache = FittedMemberCache()
    with mmlearn.config_context(progress=True), joblib.parallel_config(backend="threading"):
        ref = StackingFusionClassifier(members, cv=3, n_jobs=2, memory=cache).fit(X, y)
        again = StackingFusionClassifier(members, cv=3, memory=cache).fit(X, y)  # all cache hits
        np.testing.assert_allclose(ref.predict_proba(X), again.predict_proba(X))
    err = capsys.readouterr().err
    lines = _progress_lines(err, "StackingFusionClassifier out-of-fold fits")
    assert sum(line.startswith("StackingFusionClassifier out-of-fold fits: 8/8 ") for line in lines) == 2
