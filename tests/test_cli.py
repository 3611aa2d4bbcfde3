import json
import os
import runpy
import subprocess
import sys
import types
from pathlib import Path

import pytest

from mmlearn.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_bench_quick_writes_json_markdown_and_plots(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["bench", "--suite", "accuracy", "--quick", "--no-progress", "--out", str(out)]) == 0
    result = json.loads((out / "accuracy.json").read_text())
    assert set(result["av_clean"]["accuracy"]) >= {"audio only (MFCC)", "image only (HOG)", "stacking"}
    # quick reads the embedded rows only, and every output says it is a smoke run
    assert result["av_clean"]["info"]["source"].startswith("embedded")
    assert result["quick"] is True and "NOT the benchmark figures" in result["note"]
    summary = (out / "summary.md").read_text()
    assert "## accuracy (smoke run" in summary and "| AV digits (degraded) |" in summary
    assert "SMOKE RUN (--quick)" in summary.splitlines()[2]
    stdout = capsys.readouterr().out
    assert stdout.startswith("SMOKE RUN (--quick)") and stdout.rstrip().endswith("run without --quick for those.")
    assert (out / "accuracy_accuracy.png").stat().st_size > 1000


def test_bench_suites_are_modules_of_the_package():
    from mmlearn._bench import SUITES, load_suite

    package = Path(__import__("mmlearn").__file__).parent / "_bench"
    for name in SUITES:
        module = load_suite(name)
        assert module.__name__ == f"mmlearn._bench.{name}"
        assert Path(module.__file__).parent == package
        assert callable(module.run) and callable(module.main) and module.PLOTS
    with pytest.raises(ValueError, match="unknown benchmark suite 'nope'; choose from audio"):
        load_suite("nope")


_OPEN_AUDIT = """
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
from mmlearn.cli import main
main(["bench", "--suite", "image", "--quick", "--no-progress", "--out", "out"])
print("OPENED", *opened, sep="\\n")
"""


def test_bench_reads_nothing_from_a_source_checkout(tmp_path):
    # cwd outside the checkout, no data folder: the checkout's mmlearn/ is imported
    # (as an installed copy would be) and no other file of the checkout is opened.
    # A fresh process (~4 s CPU, the lightest real suite) so the audit sees every open.
    env = {k: v for k, v in os.environ.items() if k != "MMLEARN_DATA_DIR"}
    env["PYTHONPATH"] = str(REPO)
    res = subprocess.run([sys.executable, "-c", _OPEN_AUDIT], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    opened = [Path(p).resolve() for p in res.stdout.split("OPENED\n", 1)[1].splitlines() if p.startswith("/")]
    in_checkout = [
        p for p in opened
        if p.is_relative_to(REPO) and not p.is_relative_to(REPO / "mmlearn")
        and not p.parent.name.endswith(".egg-info")  # package metadata, as an installed copy has
        and not p.is_relative_to(Path(sys.prefix).resolve())  # the environment (make's .venv)
    ]
    assert in_checkout == []
    assert any(p.is_relative_to(REPO / "mmlearn" / "_bench") for p in opened)
    assert (tmp_path / "out" / "image.json").is_file() and (tmp_path / "out" / "image_speedups.png").is_file()


def _fake_suite(monkeypatch, result, seen_config=None):
    import mmlearn._bench

    def run(quick, data_dir):
        if seen_config is not None:
            seen_config.append(mmlearn.get_config()["progress"])
        return dict(result)

    fake = types.SimpleNamespace(
        run=run,
        PLOTS={"speedups": {"title": "Kernel X vs a loop of Y", "label": "speed-up (x, higher is better)",
                            "reference": "Y loop"}},
    )
    monkeypatch.setattr(mmlearn._bench, "load_suite", lambda name: fake)


def test_bench_progress_follows_the_global_setting(tmp_path, capsys, monkeypatch):
    import mmlearn
    from mmlearn.cli import run_bench

    seen = []
    _fake_suite(monkeypatch, {"speedups": {"a": 2.0}, "markdown": "table"}, seen)
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    with mmlearn.config_context(progress=True):  # stderr is not a terminal: plain lines
        run_bench(["s1", "s2"], data_dir=None, out=str(tmp_path), quick=False)
    err = capsys.readouterr().err
    assert "mmlearn bench: 1/2" in err and "mmlearn bench: 2/2" in err and "\r" not in err
    assert seen == [False, False]  # the library's bars stay quiet inside a timed suite
    with mmlearn.config_context(progress=False):
        run_bench(["s1"], data_dir=None, out=str(tmp_path), quick=False)
    assert "mmlearn bench" not in capsys.readouterr().err
    monkeypatch.setenv("TQDM_DISABLE", "1")
    with mmlearn.config_context(progress=True):
        run_bench(["s1"], data_dir=None, out=str(tmp_path), quick=False)
    assert "mmlearn bench" not in capsys.readouterr().err
    run_bench(["s1"], data_dir=None, out=str(tmp_path), quick=False, progress=False)
    assert "mmlearn bench" not in capsys.readouterr().err


@pytest.mark.parametrize("quick", [False, True])
def test_bench_plot_titles_and_labels(tmp_path, monkeypatch, quick):
    from matplotlib.figure import Figure

    from mmlearn.cli import run_bench

    figures = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: (figures.append(self), save(self, *a, **k))[1])
    _fake_suite(monkeypatch, {"speedups": {"fast path": 4.0, "slow path": 0.5}, "markdown": "t"})
    run_bench(["kern"], data_dir=None, out=str(tmp_path), quick=quick, progress=False)
    (fig,) = figures
    (ax,) = fig.axes
    assert fig.get_suptitle() == "Kernel X vs a loop of Y"
    assert ax.get_xlabel() == "speed-up (x, higher is better)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["fast path", "slow path"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["1x = as fast as Y loop"]
    assert ax.get_xlim()[0] == 0
    assert ("SMOKE RUN" in ax.get_title()) == quick
    assert "kern_speedups.png" in (tmp_path / "summary.md").read_text()


def test_bench_help_lists_every_suite(capsys):
    from mmlearn._bench import SUITES

    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = capsys.readouterr().out
    for name, what in SUITES.items():
        assert f"  {name}" in text and what in text
    assert "--quick" in text and "smoke run" in text


def test_plot_results_redraws_a_recorded_run(tmp_path, capsys):
    recorded = tmp_path / "gpu-h100-image.json"
    recorded.write_text((REPO / "benchmarks" / "results" / "gpu-h100-image.json").read_text())
    script = REPO / "benchmarks" / "plot_results.py"
    assert runpy.run_path(str(script))["main"](["image", str(recorded)]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "gpu-h100-image_speedups.png")]
    assert (tmp_path / "gpu-h100-image_speedups.png").stat().st_size > 1000
    from mmlearn._bench import image

    ratios = image.speedups(json.loads(recorded.read_text()))
    assert list(ratios) == ["HOG 28x28, CPU", "HOG 64x64, CPU", "HOG 28x28, GPU", "HOG 64x64, GPU"]
    assert 52 < ratios["HOG 64x64, GPU"] < 53  # the recorded run's figure, not a new measurement


@pytest.mark.parametrize("suite", ["audio", "image", "text", "fusion_search", "accuracy"])
def test_benchmark_scripts_are_the_suites_command_lines(suite, monkeypatch, capsys):
    script = REPO / "benchmarks" / f"bench_{suite}.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(script), run_name="__main__")
    assert exit_info.value.code == 0
    assert "--quick" in capsys.readouterr().out


def test_demo_prints_table_and_writes_json_and_plot(tmp_path, capsys):
    js, png = tmp_path / "demo.json", tmp_path / "demo.png"
    assert main(["demo", "--folds", "2", "--no-progress", "--json", str(js), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "| stacking |" in out and "30 % audio + 30 % image missing" in out
    scores = json.loads(js.read_text())
    assert len(scores["complete"]["stacking"]) == 2 and "stacking" in scores["missing"]
    assert all(0.8 < s <= 1.0 for s in scores["complete"]["early fusion"])
    assert png.stat().st_size > 1000


def test_python_dash_m_entry_point():
    res = subprocess.run([sys.executable, "-m", "mmlearn", "--help"], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0 and "demo" in res.stdout and "bench" in res.stdout


def test_version_and_help_without_raw_rst(capsys):
    import pytest

    import mmlearn

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"mmlearn {mmlearn.__version__}"
    for argv in (["--help"], ["demo", "--help"], ["bench", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        text = capsys.readouterr().out
        assert "usage: mmlearn" in text and "``" not in text and ":func:" not in text


def test_demo_plot_follows_the_folds_starts_at_zero_and_marks_fusions(tmp_path):
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.naive_bayes import GaussianNB

    from mmlearn.cli import _demo_json, _demo_plot, _table
    from mmlearn.model_selection import evaluate

    X, y = load_iris(return_X_y=True)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    models = {"audio only (MFCC)": GaussianNB(), "stacking": LogisticRegression(max_iter=300)}
    results = {
        "complete": evaluate(models, X, y, cv=cv, progress=False),
        "missing": evaluate({"stacking": models["stacking"]}, X[:, :2], y, cv=cv, progress=False),
    }
    fig = _demo_plot(results, str(tmp_path / "demo.png"))
    assert (tmp_path / "demo.png").stat().st_size > 1000
    ax = fig.axes[0]
    assert ax.get_ylabel() == "accuracy (3-fold stratified CV)" and "mean of 3 folds" in ax.get_title()
    bars = [p for p in ax.patches if p.get_height() > 0]
    assert len(bars) == 3 and all(b.get_y() == 0 for b in bars) and ax.get_ylim()[0] == 0
    assert [bool(b.get_hatch()) for b in bars] == [False, True, True]  # the fusion is hatched
    stacking = results["missing"].scores["value"]
    assert bars[2].get_height() == pytest.approx(stacking.mean())
    assert f"{stacking.mean():.4f} ± {stacking.std(ddof=0):.4f}" in _table(results)
    assert _demo_json(results)["missing"] == {"stacking": stacking.tolist()}
    np.testing.assert_allclose(
        _demo_json(results)["complete"]["audio only (MFCC)"],
        pd.Series(results["complete"].scores.query("model == 'audio only (MFCC)'")["value"]).to_numpy(),
    )


@pytest.mark.parametrize("folds, message", [("1", "cross-validation needs at least 2 folds, got 1"), ("x", "invalid int value: 'x'")])
def test_demo_refuses_fewer_than_two_folds_with_a_usage_error(folds, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--folds", folds])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --folds: {message}" in err and "Traceback" not in err
