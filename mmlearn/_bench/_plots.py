"""Plots of benchmark results: what is measured, its unit, against which reference."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

__all__ = ["plot_suite"]


def plot_suite(
    name: str, result: dict, out_dir: Path, *, labels: dict | None = None, quick: bool = False, subtitle: str | None = None
) -> list[str]:
    """Horizontal bar charts of a result's ``speedups`` and ``accuracy`` mappings.

    ``labels`` is the suite's ``PLOTS``: per key a ``title``, an axis
    ``label``, for speed-ups the ``reference`` the ratios are against, and
    ``groups``: legend text for a name's ``"group: "`` prefix. Any other
    key of ``labels`` names one more mapping of fractions in [0, 1] (say,
    retrieval recall), drawn as accuracy is. ``quick``
    marks every plot as a smoke run; ``subtitle`` (say, which recorded run)
    goes under the title otherwise.
    Returns the file names written to ``out_dir`` (none without matplotlib).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    files = []
    for key in dict.fromkeys(["speedups", "accuracy", *(labels or {})]):
        data = result.get(key)
        if not isinstance(data, dict) or not data:
            continue
        meta = dict((labels or {}).get(key) or {})
        title = meta.get("title", f"{name}: {key}")
        names, values = list(data), np.array([float(v) for v in data.values()])
        # "clean: audio only" -> group "clean", bar "audio only"; one colour per group
        groups = [n.split(": ", 1)[0] if ": " in n else "" for n in names]
        bars = [n.split(": ", 1)[1] if ": " in n else n for n in names]
        palette = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"]
        group_names = list(dict.fromkeys(groups))
        colours = [palette[group_names.index(g) % len(palette)] for g in groups]
        fig, ax = plt.subplots(figsize=(8.5, 1.9 + 0.36 * len(names)), layout="constrained")
        y = np.arange(len(names))
        rects = ax.barh(y, values, color=colours)
        ax.set_yticks(y, bars)
        ax.invert_yaxis()
        handles = []
        if key == "speedups":
            ax.bar_label(rects, labels=[f"{v:.1f}x" for v in values], padding=3, fontsize=8)
            reference = meta.get("reference", "the reference")
            handles.append(ax.axvline(1.0, color="black", lw=1, ls="--", label=f"1x = as fast as {reference}"))
            ax.set_xlim(0, max(values.max(), 1.0) * 1.18)
            xlabel = meta.get("label", "speed-up vs reference (x, higher is better)")
        else:
            ax.bar_label(rects, labels=[f"{v:.3f}" for v in values], padding=3, fontsize=8)
            ax.set_xlim(0, 1.12)
            xlabel = meta.get("label", f"{key} (higher is better)")
        ax.set_xlabel(xlabel)
        if any(group_names):
            from matplotlib.patches import Patch

            legend = meta.get("groups", {})
            handles += [
                Patch(color=palette[i % len(palette)], label=legend.get(g, g)) for i, g in enumerate(group_names)
            ]
        if handles:
            # below the axes (constrained layout makes room; matplotlib >= 3.7): never over a bar
            fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
        fig.suptitle("\n".join(textwrap.wrap(title, 90)), fontsize=10)
        if quick:
            smoke = "SMOKE RUN (--quick): tiny sizes or data subsets; NOT the benchmark figures"
            ax.set_title("\n".join(textwrap.wrap(smoke, 60)), color="#b00000", fontsize=8.5, fontweight="bold")
        elif subtitle:
            ax.set_title("\n".join(textwrap.wrap(subtitle, 70)), color="#444444", fontsize=8.5)
        path = out_dir / f"{name}_{key}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files.append(path.name)
    return files
