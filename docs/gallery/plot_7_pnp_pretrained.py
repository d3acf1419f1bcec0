"""
# Plug-and-play with a shipped denoiser

`equinet.pretrained` ships four blind bias-free DnCNN denoisers (plain, and C4, C8, D4-equivariant by design) of
about 6000 parameters each, trained once on photographs for Gaussian noise levels 0.01-0.2. Plug one into PnP-PGD
(`equinet.reconstructors.PnPPGD`) and it solves any inverse problem of `equinet.physics` without retraining: here a
Gaussian deblurring of a held-out photograph, with the plain denoiser, the plain one averaged over one random
D4 element per iteration (Terris et al., CVPR 2024), and the D4 denoiser equivariant by design. The random
element keeps the iterates stable and gains PSNR over the plain denoiser; the D4 denoiser by design, a better
denoiser on its own, drifts away after a few iterations: `python -m equinet reproduce pnp-equivariance` measures
this on deblurring, MRI, CT and inpainting (docs/reproduce_pnp_equivariance.md).
"""
import matplotlib.pyplot as plt
import torch

from equinet import pretrained
from equinet.data import DATASETS
from equinet.physics import Blur, GaussianNoise, gaussian_kernel
from equinet.reconstructors import PnPPGD

print(pretrained.available())
print({k: pretrained.card("dncnn_d4")[k] for k in ("parameters", "equivariance", "noise")})

x = DATASETS.get("natural_test")(1, 64, seed=3)
A = Blur(gaussian_kernel(1.5), image_size=64, noise=GaussianNoise(0.01))
y = A.measure(x, torch.Generator().manual_seed(0))

# %%
# Three denoisers in the same solver (step 1/‖A‖², start A†y, 100 iterations)
runs = {"plain": (pretrained.load("dncnn_c1"), "none"),
        "plain + random D4": (pretrained.load("dncnn_c1"), "random"),
        "D4 by design": (pretrained.load("dncnn_d4"), "none")}
out, curves = {}, {}
for label, (D, eq) in runs.items():
    model = PnPPGD(D, n_iter=100, equivariance=eq, group="D4")
    with torch.no_grad():
        out[label] = model(y, A, x_true=x)
    curves[label] = model.history.psnr
    print(f"{label:18s} PSNR {model.history.psnr[-1]:.2f} dB (best {max(model.history.psnr):.2f} at iteration "
          f"{model.history.best_iteration}), last residual {model.history.residual[-1]:.1e}")

fig, axes = plt.subplots(1, 5, figsize=(12, 2.8))
for ax, (title, img) in zip(axes, [("clean", x), ("blurred + noise", y)] + list(out.items())):
    ax.imshow(img[0, 0].clamp(0, 1), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.tight_layout()

# %%
# PSNR along the iterations
fig, ax = plt.subplots(figsize=(6, 3))
for label, c in curves.items():
    ax.plot(range(1, len(c) + 1), c, label=label)
ax.set_xlabel("iteration")
ax.set_ylabel("PSNR (dB)")
ax.legend(fontsize=8)
fig.tight_layout()
