"""
# Can equivariant imaging learn this operator with this group?

EI can only learn what the transformations reveal: with $M = [A T_1; \\dots; A T_{|G|}]$, learning from
measurements alone needs $\\operatorname{rank} M = n$ (Theorem 1 of Tachella, Chen and Davies), and a group
to which $A$ is itself equivariant reveals nothing ($\\operatorname{rank} M = \\operatorname{rank} A$,
Corollary 1). `equinet.diagnostics.identifiability_report` computes both, exactly for small images.

Below, on 12×12 images: inpainting, CT with 6 views (0°, 30°, …, 150°: a set closed under 90° turns, so this
CT operator is itself equivariant to them) and CT with 5 views (36° apart: not closed), each with 90° turns or
with circular shifts.
"""
import matplotlib.pyplot as plt
import numpy as np

from equinet import diagnostics, groups, physics
from equinet.transforms import Shift

cases = {
    "inpainting, 30 % dropped": physics.Inpainting(12, drop=0.3, seed=0),
    "CT, 6 views": physics.Radon(image_size=12, angles=6),
    "CT, 5 views": physics.Radon(image_size=12, angles=5),
}
transforms = {"C4 (90° turns)": groups.cyclic(4), "circular shifts": Shift(image_size=12)}
results = {}
for op_name, A in cases.items():
    for t_name, T in transforms.items():
        r = diagnostics.identifiability_report(A, T)
        results[(op_name, t_name)] = r
        print(r.lines()[0])
        print(f"    rank A = {r.rank.rank_A:.0f}, rank M = {r.rank.rank_M:.0f} of n = {r.rank.n}: "
              f"{'learnable' if r.ok else 'NOT learnable'}")

# %%
# rank A (what one operator measures) and rank M (what the group reveals), against n = 144
fig, axes = plt.subplots(1, len(cases), figsize=(10, 3.2), sharey=True)
for ax, op_name in zip(axes, cases):
    names = list(transforms)
    rA = [results[(op_name, t)].rank.rank_A for t in names]
    rM = [results[(op_name, t)].rank.rank_M for t in names]
    xs = np.arange(len(names))
    ax.bar(xs - 0.2, rA, 0.4, label="rank A", color="0.6")
    ax.bar(xs + 0.2, rM, 0.4, label="rank M", color=["tab:green" if results[(op_name, t)].ok else "tab:red"
                                                      for t in names])
    ax.axhline(144, color="k", lw=0.8, ls="--")
    ax.set_xticks(xs, names, fontsize=8)
    ax.set_title(op_name, fontsize=9)
axes[0].set_ylabel("rank (n = 144, dashed)")
axes[0].legend(fontsize=8, loc="lower left")
fig.suptitle("green: rank M = n, learnable from measurements; red: not", fontsize=9)
fig.tight_layout()

# %%
# With 6 views, 90° turns reveal nothing (rank M = rank A: Corollary 1); with 5 views the same turns reveal
# part of the nullspace. Which directions stay hidden is printed by `print(report)`.
