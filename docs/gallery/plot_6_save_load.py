"""
# Saving and loading a model

An equinet network is a `torch.nn.Module`: save its `state_dict` with `torch.save` and rebuild it from the same
`NetSpec` to load it. Steerable convolutions store the coefficients of their kernel basis together with what
the coefficients mean (group, field types, kernel size, sampling rule, basis checksum), so loading them into a
network of another specification fails with a message naming both, instead of silently computing something else.
For deployment without equinet, `.export()` gives the same function built from `nn.Conv2d` layers only.
"""
import os
import tempfile

import matplotlib.pyplot as plt
import torch

from equinet.nets import NetSpec, build

torch.manual_seed(0)
spec = NetSpec("C8", width=2, depth=3, kernel_size=5)
net = build("dncnn", spec)
folder = tempfile.mkdtemp()
path = os.path.join(folder, "prox_c8.pt")
torch.save({"spec": spec, "state_dict": net.state_dict()}, path)
print(f"saved {os.path.getsize(path) / 1024:.0f} KiB")

# %%
# Load it: rebuild from the spec, load the weights, check it computes the same function
saved = torch.load(path, weights_only=False)
again = build("dncnn", saved["spec"])
again.load_state_dict(saved["state_dict"])
x = torch.rand(1, 1, 48, 48)
with torch.no_grad():
    diff = (again.eval()(x) - net.eval()(x)).abs().max().item()
print(f"max difference after reloading: {diff:.1e}")
assert diff == 0.0

# %%
# Loading into a network of another group is refused, naming what was expected
other = build("dncnn", NetSpec("C4", width=4, depth=3, kernel_size=5))
try:
    other.load_state_dict(saved["state_dict"])
except Exception as err:  # the message names both specifications
    print(type(err).__name__ + ":", str(err).splitlines()[0][:150])

# %%
# Export to plain torch (nn.Conv2d / nn.ReLU) and save it with torch.export: no equinet needed to run it
plain = net.export()
program = torch.export.export(plain, (x,))
torch.export.save(program, os.path.join(folder, "prox_c8_plain.pt2"))
restored = torch.export.load(os.path.join(folder, "prox_c8_plain.pt2")).module()
with torch.no_grad():
    y, y_plain = net(x), restored(x)
print(f"exported and reloaded: max difference {(y - y_plain).abs().max().item():.1e}")
assert torch.allclose(y, y_plain, atol=1e-5)

fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
for ax, img, title in zip(axes, [x, y, y_plain], ["input", "saved network", "exported, reloaded"]):
    ax.imshow(img[0, 0], cmap="gray")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.tight_layout()
