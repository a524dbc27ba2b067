"""Router heatmaps (needs the optional extra: ``pip install 'modula[plot]'``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# the object API, not pyplot: no global state and no display backend, so it is safe in scripts and threads
from matplotlib.figure import Figure

from lmcommon.data import atomic_write


def plot_router_heatmap(weights: dict[str, Any], path: str | Path, title: str = "mean router weight") -> Path:
    """One panel per prompt group: decoder layers down, router outputs across, colour = mean router weight.

    Args:
        weights: the output of :func:`modula.routers.domain_router_weights`.
        path: the PNG to write (atomically).
    """
    outputs, layers, groups = weights["outputs"], weights["layers"], weights["groups"]
    if not groups:
        raise ValueError("no prompt groups to plot")
    figure = Figure(figsize=(1.2 + 1.1 * len(outputs) * len(groups), 0.9 + 0.22 * len(layers)))
    axes = figure.subplots(1, len(groups), squeeze=False)
    image = None
    for axis, (group, matrix) in zip(axes[0], groups.items(), strict=True):
        image = axis.imshow(matrix, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0)
        axis.set_title(f"{group} prompts", fontsize=9)
        axis.set_xticks(range(len(outputs)), outputs, rotation=45, ha="right", fontsize=8)
        axis.set_yticks(range(len(layers)), [str(layer) for layer in layers], fontsize=7)
        axis.set_xlabel("expert", fontsize=8)
    axes[0][0].set_ylabel("decoder layer", fontsize=8)
    figure.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="router weight")
    figure.suptitle(title, fontsize=10)
    path = Path(path)
    with atomic_write(path, "wb", encoding=None) as handle:
        figure.savefig(handle, format="png", dpi=120, bbox_inches="tight")
    return path
