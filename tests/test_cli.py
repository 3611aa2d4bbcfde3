import json
import subprocess
import sys
from pathlib import Path

import pytest

from mmlearn.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_bench_quick_writes_json_markdown_and_plots(tmp_path, shared_data):
    out = tmp_path / "bench"
    assert main(["bench", "--suite", "accuracy", "--quick", "--out", str(out), "--data-dir", str(shared_data)]) == 0
    result = json.loads((out / "accuracy.json").read_text())
    assert set(result["av_clean"]["accuracy"]) >= {"audio only (MFCC)", "image only (HOG)", "stacking"}
    summary = (out / "summary.md").read_text()
    assert "## accuracy" in summary and "| AV digits (degraded) |" in summary
    assert (out / "accuracy_accuracy.png").stat().st_size > 1000


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
