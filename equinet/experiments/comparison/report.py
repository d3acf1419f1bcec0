"""The comparison's outputs: the Markdown table and its header, and the two figures (PSNR vs training-set size,
reconstructions of one test image). The CSV/JSON files are written by `equinet.experiments.runner.write_table`."""
from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

from ...utils.io import save_figure
from ...utils.plotting import plain_log_axis, pyplot, reconstruction_grid
from .config import LABELS, MODELS, TEST_SETS, ComparisonConfig, label

__all__ = ["CSV_FIELDS", "markdown_table", "markdown_header", "terminal_table", "matching_note", "plot_psnr_vs_size",
           "plot_reconstructions"]

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


def terminal_table(rows: List[dict]) -> str:
    """The table for a terminal, at most 100 columns wide: PSNR (mean ± std over test images) on both test sets
    and the paired PSNR difference to the parameter-matched CNN (mean ± standard error); SSIM and the rest are in
    ``table.md``/``table.csv``."""
    merged: Dict[tuple, dict] = {}
    for r in rows:
        merged.setdefault((r["operator"], r["model"], r["train_size"]), {"r": r})[r["test_set"]] = r
    head = (f"{'':3} {'model':<14} {'params':>6} {'n':>4}  {'PSNR held-out':>13} {'PSNR rotated':>13}  "
            f"{'Δ vs CNN held-out':>17} {'Δ vs CNN rotated':>17}")
    lines = [head, "-" * len(head)]
    pm = lambda v, e: f"{v:+.2f} ± {e:.2f}"  # noqa: E731
    for k in sorted(merged, key=lambda k: (k[0], k[2], MODELS.index(k[1]))):
        m, r = merged[k], merged[k]["r"]
        psnr = [f"{m[t]['psnr_mean']:.2f} ± {m[t]['psnr_std']:.2f}" if t in m else "" for t in TEST_SETS]
        diff = [pm(m[t]["dpsnr_vs_cnn_mean"], m[t]["dpsnr_vs_cnn_se"])
                if t in m and r["model"] != "cnn" and m[t]["dpsnr_vs_cnn_mean"] is not None else "" for t in TEST_SETS]
        size = "–" if r["model"] == "pinv" else str(r["train_size"])
        lines.append(f"{r['operator']:3} {r['label']:<14} {r.get('params', 0):>6} {size:>4}  {psnr[0]:>13} "
                     f"{psnr[1]:>13}  {diff[0]:>17} {diff[1]:>17}".rstrip())
    return "\n".join(lines) + "\n"


def matching_note(rows: List[dict]) -> str:
    """One sentence per operator: the measured parameter counts of the parameter-matched twins against the C8
    network's (integer widths cannot always match small networks closely)."""
    out = []
    for op in dict.fromkeys(r["operator"] for r in rows):
        params = {r["model"]: r.get("params", 0) for r in rows if r["operator"] == op}
        if "c8" not in params:
            continue
        ref = params["c8"]
        twins = [f"{LABELS[k]} {params[k]} ({100 * (params[k] - ref) / ref:+.0f}%)" for k in ("cnn", "c4")
                 if k in params]
        if twins:
            out.append(f"{op}: C8 {ref} parameters; " + ", ".join(twins))
    if not out:
        return ""
    return ("Parameter-matched twins (closest integer width): " + "; ".join(out) + ".")


def markdown_header(cfg: ComparisonConfig, wall: float, device, workers: int, threads: int,
                    descriptions: Dict[str, str], rows: Optional[List[dict]] = None) -> str:
    """The title and settings paragraph above the Markdown table (with ``rows``: the twins' measured parameter
    counts, `matching_note`)."""
    n = cfg.image_size
    return (f"# Translation vs roto-translation comparison ({cfg.mode} mode)\n\n"
            f"Wall time {wall:.0f} s on {device} ({workers} worker process(es), {threads} thread(s) each). Settings: "
            f"{n}x{n} {cfg.orientation} ellipse phantoms, train sizes {list(cfg.train_sizes)}, {cfg.n_test} test "
            f"images, {cfg.steps} Adam steps (batch {cfg.batch_size}, lr {cfg.lr:g}, {cfg.schedule} schedule), "
            f"{cfg.repeats} repeat(s), unrolled PGD {cfg.n_iter} iterations, {cfg.net} depth {cfg.depth} "
            f"k={cfg.kernel_size}, {cfg.activation_options()}, C8 width {cfg.width}, seed {cfg.seed}.\n\n"
            + "".join(f"- {k}: {v}\n" for k, v in descriptions.items()) + "\n"
            + (f"{matching_note(rows)}\n\n" if rows else ""))


_OPERATOR_NAMES = {"ct": "Sparse-view CT", "mri": "4x MRI"}
_TEST_NAMES = {"held-out": "held-out phantoms", "rotated": "rotated phantoms"}


def plot_reconstructions(path: str, op_name: str, gt: dict, recons: dict, psnrs: dict, title: str) -> None:
    """Ground truth and every model's reconstruction of one test image, one block per test set: the images with
    their PSNR, error maps on one shared scale, zoom insets and colour bars (`equinet.utils.plotting`)."""
    rows = [(_TEST_NAMES.get(t, t), gt[t], [(label(k, op_name) if k in LABELS else k, img, psnrs[t].get(k))
                                           for k, img in recons[t].items()]) for t in TEST_SETS]
    reconstruction_grid(path, rows, title=title)


def plot_psnr_vs_size(path: str, rows: List[dict], cfg: ComparisonConfig) -> None:
    """PSNR against the training-set size, one panel per operator and test set.

    With the parameter-matched CNN among the models, the panels show each model's PSNR gain over it on the same
    images and noise (paired differences; error bars: their standard error over the test images), the CNN being
    the zero line and its own PSNR written in the panel. Otherwise they show the PSNR itself (error bars: standard
    error of the mean over test images). The baseline's PSNR is written in the panel, not drawn."""
    plt = pyplot()
    ops = list(cfg.operators)
    paired = "cnn" in cfg.models
    fig, axes = plt.subplots(len(ops), len(TEST_SETS), figsize=(5.2 * len(TEST_SETS), 3.8 * len(ops) + 0.5),
                             squeeze=False)
    colours = {"cnn": "tab:blue", "cnn-wide": "tab:cyan", "c4": "tab:orange", "c4-wide": "tab:olive",
               "c8": "tab:red"}
    for i, op in enumerate(ops):
        for j, test in enumerate(TEST_SETS):
            ax = axes[i, j]
            notes = []
            for model in cfg.models:
                sel = sorted((r for r in rows if r["operator"] == op and r["model"] == model and r["test_set"] == test),
                             key=lambda r: r["train_size"])
                if not sel:
                    continue
                if model == "pinv":
                    notes.append(f"{label(model, op)} {sel[0]['psnr_mean']:.1f} dB")
                    continue
                sizes = [r["train_size"] for r in sel]
                if paired and model == "cnn":
                    ax.axhline(0.0, color=colours["cnn"], lw=1.2, ls="--", label=LABELS["cnn"])
                    notes.append(f"{LABELS['cnn']} " + " / ".join(f"{r['psnr_mean']:.1f}" for r in sel) + " dB")
                    continue
                if paired:
                    mean = np.array([r["dpsnr_vs_cnn_mean"] for r in sel])
                    err = np.array([r["dpsnr_vs_cnn_se"] for r in sel])
                else:
                    mean = np.array([r["psnr_mean"] for r in sel])
                    err = np.array([r["psnr_std"] / np.sqrt(max(1, r["n_images"])) for r in sel])
                ax.errorbar(sizes, mean, yerr=err, marker="o", ms=4, capsize=3, color=colours.get(model),
                            label=LABELS[model])
            plain_log_axis(ax, cfg.train_sizes)
            ax.set_xlabel("training images")
            ax.set_ylabel(f"PSNR gain over {LABELS['cnn']}, dB" if paired else "PSNR (dB)")
            ax.set_title(f"{_OPERATOR_NAMES.get(op, op)}, {_TEST_NAMES.get(test, test)}\n" + "; ".join(notes),
                         fontsize=9)
            ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
    what = ("paired PSNR gain over the parameter-matched CNN; error bars: standard error over "
            if paired else "PSNR; error bars: standard error of the mean over ")
    fig.suptitle(f"Translation vs roto-translation proximal networks ({cfg.image_size}x{cfg.image_size}, "
                 f"{cfg.steps} steps)\n{what}{cfg.n_test} test images", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    save_figure(fig, path, dpi=120)
    plt.close(fig)
