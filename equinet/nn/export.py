"""Export to standard torch: `plain` traces a torch-only module into a ``torch.fx.GraphModule`` whose code
calls nothing but torch (and Python operators), and `is_standard` checks a module tree for that property.

Layers without a direct ``torch.nn`` equivalent (norm nonlinearities, gates, norm/group pooling, field-wise
normalisation, size-dependent resampling) export as a small module holding their parameters as constant buffers,
traced by `plain`; the result runs without equinet installed and pickles with ``torch.save``.
"""
from __future__ import annotations

import torch
from torch import fx, nn

#: modules whose functions may appear as ``call_function`` targets in an exported graph
_STANDARD_FUNCTION_MODULES = ("torch", "_operator", "operator", "builtins", "math")
#: modules whose classes may appear in an exported module tree
_STANDARD_CLASS_MODULES = ("torch.nn", "torch.fx")


def _is_standard_function(f) -> bool:
    mod = getattr(f, "__module__", None) or ""
    return mod.split(".")[0] in _STANDARD_FUNCTION_MODULES


def _nonstandard_nodes(gm: fx.GraphModule) -> list[str]:
    return [f"{n.name}: {n.target!r}" for n in gm.graph.nodes
            if n.op == "call_function" and not _is_standard_function(n.target)]


def plain(module: nn.Module) -> fx.GraphModule:
    """Symbolically trace ``module`` (built from torch ops and standard modules) into an eval-mode GraphModule.

    Python helpers called by ``forward`` are inlined by the tracer, so the graph holds only torch ops, Python
    operators and standard ``torch.nn`` submodules; parameters and buffers are copied by reference. Raises
    ``TypeError`` if the traced graph would still call non-torch code.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"plain() needs an nn.Module, got {type(module).__name__}")
    gm = fx.symbolic_trace(module)
    bad = _nonstandard_nodes(gm)
    if bad:
        raise TypeError(f"plain(): tracing {type(module).__name__} left calls to non-torch functions: "
                        f"{', '.join(bad)}")
    for name, sub in gm.named_modules():
        if sub is not gm and not type(sub).__module__.startswith(_STANDARD_CLASS_MODULES):
            raise TypeError(f"plain(): submodule {name!r} is a {type(sub).__module__}.{type(sub).__name__}, "
                            "not a standard torch module")
    return gm.eval()


def is_standard(module: nn.Module) -> bool:
    """True if every submodule's class comes from ``torch.nn`` / ``torch.fx`` and every fx graph in the tree calls
    only torch functions and Python operators (so the module runs without equinet)."""
    if not isinstance(module, nn.Module):
        return False
    for sub in module.modules():
        if not type(sub).__module__.startswith(_STANDARD_CLASS_MODULES):
            return False
        if isinstance(sub, fx.GraphModule) and _nonstandard_nodes(sub):
            return False
    return True


def _detached(t: torch.Tensor) -> torch.Tensor:
    """A constant copy of a parameter or buffer, to be baked into an exported module."""
    return t.detach().clone()
