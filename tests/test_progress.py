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
    with pytest.raises(ValueError, match="progress must be 'auto', True or False"):
        mmlearn.set_config(progress="yes")
