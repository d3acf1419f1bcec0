"""The tiny TOML run the training tests share: MC + EI (rotations) on 12x12 inpainting with a small DnCNN."""


def tiny_ei_config(*, seed: int, drop: float, sigma: float, n_train: int, n_val: int, ei_noise: bool,
                   train: str) -> str:
    """The config text; ``train`` holds the lines of the ``[train]`` table."""
    noise = "noise = true\n" if ei_noise else ""
    return f"""
seed = {seed}
[physics]
name = "inpainting"
drop = {drop}
noise = {{ name = "gaussian", sigma = {sigma} }}
[data]
image_size = 12
n_train = {n_train}
n_val = {n_val}
[model]
backbone = "dncnn"
[model.net]
group = "C1"
kernel_size = 3
width = 4
depth = 3
[[loss]]
name = "mc"
[[loss]]
name = "ei"
{noise}transform = {{ name = "rotate", degrees = 180.0 }}
[train]
{train.strip()}
"""
