"""Figure helpers every experiment shares: reconstruction panels with error maps, a zoom inset and colour bars, and
log axes labelled with plain numbers (10, 30, 100 rather than 10¹, 10²). Matplotlib is imported lazily, with the
non-interactive Agg backend, and figures are written atomically (`equinet.utils.io.save_figure`)."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from .io import save_figure

__all__ = ["pyplot", "plain_log_axis", "zoom_window", "reconstruction_grid"]


def pyplot():
    """``matplotlib.pyplot`` with the Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plain_log_axis(ax, values: Sequence[float], axis: str = "x") -> None:
    """Log scale on ``axis`` with ticks at ``values``, labelled as plain numbers (``10, 30, 100``), no minor labels.

    >>> plt = pyplot(); fig, ax = plt.subplots(); ax.plot([10, 30, 100], [1, 2, 3])  # doctest: +ELLIPSIS
    [...]
    >>> plain_log_axis(ax, [10, 30, 100]); [t.get_text() for t in ax.get_xticklabels()]
    ['10', '30', '100']
    >>> plt.close(fig)
    """
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    vals = sorted({float(v) for v in values})
    if not vals or vals[0] <= 0:
        raise ValueError(f"log-axis ticks must be positive numbers, got {list(values)}")
    a = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    a.set_major_locator(FixedLocator(vals))
    a.set_minor_locator(NullLocator())
    a.set_minor_formatter(NullFormatter())
    (ax.set_xticks if axis == "x" else ax.set_yticks)(vals, [f"{v:g}" for v in vals])


def zoom_window(errors: Sequence[np.ndarray], size: int) -> Tuple[int, int]:
    """Top-left corner ``(row, col)`` of the ``size x size`` window where the summed absolute errors are largest
    (the region where the reconstructions differ most: the zoom inset shows it).

    >>> e = np.zeros((8, 8)); e[5, 6] = 1.0
    >>> zoom_window([e], 3)
    (3, 4)
    """
    total = np.sum([np.abs(np.asarray(e, dtype=float)) for e in errors], axis=0)
    h, w = total.shape
    size = max(1, min(size, h, w))
    c = np.pad(total, ((1, 0), (1, 0))).cumsum(0).cumsum(1)  # summed-area table
    win = c[size:, size:] - c[:-size, size:] - c[size:, :-size] + c[:-size, :-size]
    r, q = np.unravel_index(int(np.argmax(win)), win.shape)
    return int(r), int(q)


def _inset(ax, img, box, vmin, vmax, cmap):
    """A magnified copy of ``img[box]`` in the lower-right corner of ``ax`` and a frame around ``box``."""
    from matplotlib.patches import Rectangle
    r, c, s = box
    ax.add_patch(Rectangle((c - 0.5, r - 0.5), s, s, fill=False, ec="yellow", lw=0.9))
    h, w = img.shape
    right = c + s / 2 < w / 2  # the inset goes to the corner opposite the window, so that it never hides it
    low = r + s / 2 < h / 2
    ins = ax.inset_axes([0.58 if right else 0.0, 0.0 if low else 0.58, 0.42, 0.42])
    ins.imshow(img[r:r + s, c:c + s], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ins.set_xticks([])
    ins.set_yticks([])
    for sp in ins.spines.values():
        sp.set_edgecolor("yellow")
        sp.set_linewidth(0.9)


def reconstruction_grid(path: Optional[str], rows: Sequence[Tuple[str, np.ndarray, Sequence[tuple]]], title: str = "",
                        vmin: float = 0.0, vmax: float = 1.0, zoom: Optional[int] = None,
                        error_max: Optional[float] = None, dpi: int = 130):
    """Save a figure comparing reconstructions with their reference, one block per entry of ``rows`` (``path``
    None: return the open figure instead, e.g. to show it in a notebook).

    ``rows``: ``[(label, reference, [(name, image, psnr or None), ...]), ...]`` of 2-D arrays. Each block has the
    images (reference first) on a grey scale ``[vmin, vmax]`` with a colour bar, and beneath them the error maps
    ``|image - reference|`` on one shared scale (``error_max``; default: the 99th percentile of all errors) with
    their own colour bar. Every panel has a zoom inset (``zoom`` pixels square, default a quarter of the image) of
    the window where the reconstructions' errors are largest; PSNRs are printed on the panels.
    """
    plt = pyplot()
    if not rows:
        raise ValueError("rows must hold at least one (label, reference, reconstructions) entry")
    cols = 1 + max(len(r[2]) for r in rows)
    all_err = [np.abs(np.asarray(im, float) - np.asarray(ref, float)) for _, ref, recs in rows for _, im, _ in recs]
    if error_max is None:
        error_max = float(np.percentile(np.concatenate([e.ravel() for e in all_err]), 99)) if all_err else 1.0
        error_max = error_max if error_max > 0 else 1.0
    fig, axes = plt.subplots(2 * len(rows), cols, figsize=(1.95 * cols + 0.7, 3.9 * len(rows)), squeeze=False,
                             gridspec_kw=dict(wspace=0.04, hspace=0.12))
    im_img = im_err = None
    for b, (row_label, ref, recs) in enumerate(rows):
        ref = np.asarray(ref, float)
        errs = [np.abs(np.asarray(im, float) - ref) for _, im, _ in recs]
        s = zoom or max(4, min(ref.shape) // 4)
        box = (*zoom_window(errs or [ref], s), s)
        top, bottom = axes[2 * b], axes[2 * b + 1]
        panels = [("ground truth", ref, None)] + list(recs)
        for j in range(cols):
            for ax in (top[j], bottom[j]):
                ax.set_xticks([])
                ax.set_yticks([])
            if j >= len(panels):
                top[j].axis("off")
                bottom[j].axis("off")
                continue
            name, img, p = panels[j]
            img = np.asarray(img, float)
            im_img = top[j].imshow(img, cmap="gray", vmin=vmin, vmax=vmax)
            _inset(top[j], img, box, vmin, vmax, "gray")
            if b == 0:
                top[j].set_title(name, fontsize=9)
            if p is not None:
                top[j].text(0.03, 0.97, f"{p:.2f} dB", transform=top[j].transAxes, va="top", ha="left", fontsize=8,
                            color="yellow", bbox=dict(facecolor="black", alpha=0.6, pad=1.5, lw=0))
            if j == 0:
                top[j].set_ylabel(row_label, fontsize=9)
                bottom[j].axis("off")
                bottom[j].text(0.5, 0.5, "error |u − x|\n(same scale\nin every panel)", ha="center", va="center",
                               fontsize=8, transform=bottom[j].transAxes)
                continue
            err = errs[j - 1]
            im_err = bottom[j].imshow(err, cmap="inferno", vmin=0.0, vmax=error_max)
            _inset(bottom[j], err, box, 0.0, error_max, "inferno")
        fig.colorbar(im_img, ax=list(top), fraction=0.025, pad=0.01).ax.tick_params(labelsize=7)
        if im_err is not None:
            fig.colorbar(im_err, ax=list(bottom), fraction=0.025, pad=0.01).ax.tick_params(labelsize=7)
    if title:
        import textwrap
        fig.suptitle(textwrap.fill(title, 22 * cols), fontsize=10)
    if path is None:
        return fig
    save_figure(fig, path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return None
