"""
# Translation vs roto-translation equivariant proximal networks

The comparison behind `python -m equinet` (`equinet.experiments.comparison`): unrolled PGD for sparse-view CT
with an ordinary CNN as proximal network, against a C8-equivariant network of (nearly) the same parameter
count, trained on the same phantoms and tested on held-out and rotated phantoms.

This is a miniature (CT only, 2 training-set sizes, 60 steps). `python -m equinet` (about 3 minutes on 2 CPU
cores) runs CT and MRI, five models and three training-set sizes; its table is in the
[Comparison](../../experiments.md) page.
"""
import json
import os
import tempfile

import matplotlib.image as mpimg
import matplotlib.pyplot as plt

from equinet.experiments.comparison import ComparisonConfig, run_comparison

cfg = ComparisonConfig.quick(operators=("ct",), models=("pinv", "cnn", "c8"), train_sizes=(4, 16), n_test=8,
                             steps=60, workers=1)
out = os.path.join(tempfile.mkdtemp(), "comparison")
rows = run_comparison(cfg, out, progress=False)

# %%
# The paired PSNR gain of C8 over the CNN (same test images, same noise), mean ± standard error
for r in rows:
    if r["model"] == "c8":
        print(f"n={r['train_size']:3d} {r['test_set']:9s}: C8 {r['psnr_mean']:.2f} dB, "
              f"{r['dpsnr_vs_cnn_mean']:+.2f} ± {r['dpsnr_vs_cnn_se']:.2f} dB over the CNN")
print(json.load(open(os.path.join(out, "table.json")))["rows"][0]["label"], "baseline included")

# %%
# The figures the run wrote: the PSNR gain against the training-set size ...
for name in ("psnr_vs_train_size.png", "reconstructions_ct.png"):
    img = mpimg.imread(os.path.join(out, name))
    fig, ax = plt.subplots(figsize=(img.shape[1] / 110, img.shape[0] / 110))
    ax.imshow(img)
    ax.axis("off")
    fig.tight_layout(pad=0)

# %%
# ... and one test phantom reconstructed by each model (error maps on one scale, zoom on the largest errors).
