"""equinet: equivariant computational imaging in PyTorch.

Data flows one way through the sub-packages::

    groups -> kernels -> nn -> nets -> physics -> unrolled / losses -> training -> experiments
"""

__version__ = "0.2.0"

from . import groups, kernels  # noqa: F401  (the foundation; everything else imports lazily)

__all__ = ["groups", "kernels", "__version__"]
