"""The comparison's outputs: the Markdown table and its header, and the two figures (PSNR vs training-set size,
reconstructions of one test image). The CSV/JSON files are written by `equinet.experiments.runner.write_table`."""
from __future__ import annotations

from typing import Dict, List

import numpy as np

from ...utils.io import save_figure
from .config import LABELS, MODELS, TEST_SETS, ComparisonConfig, label

__all__ = ["CSV_FIELDS", "markdown_table", "markdown_header", "plot_psnr_vs_size", "plot_reconstructions"]

CSV_FIELDS = ("operator", "model", "label", "group", "params", "channels", "train_size", "test_set", "psnr_mean",
              "psnr_std", "ssim_mean", "ssim_std", "n_images", "repeats", "psnr_repeat_std", "dpsnr_vs_cnn_mean",
              "dpsnr_vs_cnn_se", "rotated_minus_heldout_mean", "rotated_minus_heldout_se", "train_seconds",
              "final_train_loss")

METRICS_NOTE = ("PSNR and SSIM (11x11 Gaussian window, sigma 1.5) with data_range 1; mean ± std over test images "
                "(and repeats); paired differences (dpsnr_vs_cnn_*, rotated_minus_heldout_*) as mean and standard "
                "error over images")


def markdown_table(rows: List[dict]) -> str:
    """The table as Markdown: one line per operator x model x training size, held-out and rotated side by side;
    PSNR/SSIM as mean ± std over test images, paired differences as mean ± standard error."""
    key = lambda r: (r["operator"], r["model"], r["train_size"])  # noqa: E731
    merged: Dict[tuple, dict] = {}
    for r in rows:
        merged.setdefault(key(r), {"r": r})[r["test_set"]] = r
    pm = lambda v, e: "" if v is None else f"{v:+.2f} ± {e:.2f}"  # noqa: E731
    lines = ["| operator | model | params | train size | PSNR held-out | SSIM held-out | PSNR rotated | SSIM rotated "
             "| ΔPSNR vs CNN (params), held-out | ΔPSNR vs CNN (params), rotated | PSNR rotated − held-out |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for k in sorted(merged, key=lambda k: (k[0], k[2], MODELS.index(k[1]))):
        m = merged[k]
        r = m["r"]
        cells = []
        for t in TEST_SETS:
            if t in m:
                cells += [f"{m[t]['psnr_mean']:.2f} ± {m[t]['psnr_std']:.2f}",
                          f"{m[t]['ssim_mean']:.3f} ± {m[t]['ssim_std']:.3f}"]
            else:
                cells += ["", ""]
        for t in TEST_SETS:
            cells.append(pm(m[t]["dpsnr_vs_cnn_mean"], m[t]["dpsnr_vs_cnn_se"]) if t in m and r["model"] != "cnn"
                         else "")
        rot = m.get("rotated")
        cells.append(pm(rot["rotated_minus_heldout_mean"], rot["rotated_minus_heldout_se"]) if rot else "")
        size = "–" if r["model"] == "pinv" else str(r["train_size"])
        lines.append(f"| {r['operator']} | {r['label']} | {r.get('params', 0)} | {size} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown_header(cfg: ComparisonConfig, wall: float, device, workers: int, threads: int,
                    descriptions: Dict[str, str]) -> str:
    """The title and settings paragraph above the Markdown table."""
    n = cfg.image_size
    return (f"# Translation vs roto-translation comparison ({cfg.mode} mode)\n\n"
            f"Wall time {wall:.0f} s on {device} ({workers} worker process(es), {threads} thread(s) each). Settings: "
            f"{n}x{n} {cfg.orientation} ellipse phantoms, train sizes {list(cfg.train_sizes)}, {cfg.n_test} test "
            f"images, {cfg.steps} Adam steps (batch {cfg.batch_size}, lr {cfg.lr:g}, {cfg.schedule} schedule), "
            f"{cfg.repeats} repeat(s), unrolled PGD {cfg.n_iter} iterations, {cfg.net} depth {cfg.depth} "
            f"k={cfg.kernel_size}, {cfg.activation_options()}, C8 width {cfg.width}, seed {cfg.seed}.\n\n"
            + "".join(f"- {k}: {v}\n" for k, v in descriptions.items()) + "\n")


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_reconstructions(path: str, op_name: str, gt: dict, recons: dict, psnrs: dict, title: str) -> None:
    """Ground truth and every model's reconstruction of one test image, one row per test set, PSNR overlaid."""
    plt = _pyplot()
    cols = ["ground truth"] + list(recons[TEST_SETS[0]].keys())
    fig, axes = plt.subplots(len(TEST_SETS), len(cols), figsize=(2.1 * len(cols), 2.3 * len(TEST_SETS)),
                             squeeze=False)
    for i, test in enumerate(TEST_SETS):
        images = [gt[test]] + list(recons[test].values())
        for j, (name, img) in enumerate(zip(cols, images)):
            ax = axes[i, j]
            ax.imshow(img, cmap="gray", vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(label(name, op_name) if name in LABELS else name, fontsize=9)
            if j == 0:
                ax.set_ylabel(test, fontsize=9)
            if j > 0:
                ax.text(0.03, 0.97, f"{psnrs[test][name]:.2f} dB", transform=ax.transAxes, va="top", ha="left",
                        fontsize=8, color="yellow", bbox=dict(facecolor="black", alpha=0.6, pad=1.5, lw=0))
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def plot_psnr_vs_size(path: str, rows: List[dict], cfg: ComparisonConfig) -> None:
    """PSNR against the training-set size, one panel per operator and test set (error bars: std over repeats)."""
    plt = _pyplot()
    ops = list(cfg.operators)
    fig, axes = plt.subplots(len(ops), len(TEST_SETS), figsize=(5.2 * len(TEST_SETS), 3.6 * len(ops)),
                             squeeze=False)
    colours = {"cnn": "tab:blue", "cnn-wide": "tab:cyan", "c4": "tab:orange", "c4-wide": "tab:olive",
               "c8": "tab:red"}
    for i, op in enumerate(ops):
        for j, test in enumerate(TEST_SETS):
            ax = axes[i, j]
            for model in cfg.models:
                sel = sorted((r for r in rows if r["operator"] == op and r["model"] == model and r["test_set"] == test),
                             key=lambda r: r["train_size"])
                if not sel:
                    continue
                if model == "pinv":
                    ax.axhline(sel[0]["psnr_mean"], color="gray", ls="--", label=label(model, op))
                    continue
                sizes = [r["train_size"] for r in sel]
                mean = np.array([r["psnr_mean"] for r in sel])
                err = np.array([r["psnr_repeat_std"] for r in sel])
                ax.errorbar(sizes, mean, yerr=err if err.any() else None, marker="o", capsize=3,
                            color=colours.get(model), label=LABELS[model])
            ax.set_xscale("log")
            ax.set_xlabel("training images")
            ax.set_ylabel("PSNR (dB)")
            ax.set_title(f"{op}: {test} test set", fontsize=10)
            ax.grid(alpha=0.3)
            if j == 0:
                ax.legend(fontsize=8)
    fig.suptitle(f"PSNR vs training-set size ({cfg.mode} mode, {cfg.image_size}x{cfg.image_size}, "
                 f"{cfg.steps} steps, {cfg.repeats} repeat(s))", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)
