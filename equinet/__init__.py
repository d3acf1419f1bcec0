"""equinet: equivariant computational imaging in PyTorch.

Data flows one way through the sub-packages (the floors of docs/architecture.md)::

    utils -> groups -> kernels -> nn -> nets -> physics / data -> reconstructors / transforms -> losses -> training
    -> experiments

>>> import equinet
>>> equinet.groups.get("C4").order
4
"""

__version__ = "0.2.0"

from . import groups, kernels  # noqa: F401  (the foundation; everything else imports lazily)

__all__ = ["groups", "kernels", "__version__"]
