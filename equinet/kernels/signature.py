"""Basis signatures: what a layer's coefficients mean, stored with them and checked when they are loaded.

A steerable layer's weights are coefficients on its kernel basis, and the basis is rebuilt (not stored) when a
model is built. A `BasisSignature` names everything the basis depends on -- group, field types, kernel size,
sampling rule, basis-construction version -- plus a short checksum of the basis itself (two fixed projections,
rounded to 1e-6). Layers save it in their state dict and refuse a state dict whose signature differs, so weights
never load silently into another group, another field type or another basis.

The signature travels as a uint8 tensor (UTF-8 JSON), so a state dict stays a mapping of tensors.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import torch

FORMAT = "equinet.basis-signature/1"
#: checksums closer than this (relative to max(1, |value|)) are the same basis
CHECKSUM_RTOL = 1e-5


@dataclass(frozen=True)
class BasisSignature:
    """Group, field types, kernel size, sampling rule, basis version and a checksum of one layer's basis."""

    group: str
    in_type: str
    out_type: str
    kernel_size: int
    rule: str
    basis_version: int
    checksum: tuple

    def to_tensor(self) -> torch.Tensor:
        d = asdict(self)
        d["checksum"] = list(self.checksum)
        d["format"] = FORMAT
        return torch.tensor(list(json.dumps(d, sort_keys=True).encode("utf-8")), dtype=torch.uint8)

    @classmethod
    def from_state(cls, state) -> "BasisSignature":
        """Decode what `to_tensor` wrote (a uint8 tensor); raise ``ValueError`` for anything else."""
        if not isinstance(state, torch.Tensor) or state.dtype != torch.uint8 or state.dim() != 1:
            raise ValueError(f"a basis signature is a 1-D uint8 tensor, got {_describe(state)}")
        try:
            d = json.loads(bytes(state.cpu().tolist()).decode("utf-8"))
            if not isinstance(d, dict):
                raise ValueError(f"a JSON object was expected, got {type(d).__name__}")
            if d.pop("format") != FORMAT:
                raise ValueError("unknown format")
            d["checksum"] = tuple(float(v) for v in d["checksum"])
            return cls(**d)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise ValueError(f"cannot read the basis signature ({e})") from None

    def mismatches(self, other: "BasisSignature") -> list[str]:
        """The fields in which two signatures differ ([] if they describe the same basis)."""
        out = [f for f in ("group", "in_type", "out_type", "kernel_size", "rule", "basis_version")
               if getattr(self, f) != getattr(other, f)]
        if not out and not _close(self.checksum, other.checksum):
            out.append("checksum")
        return out

    def describe(self) -> str:
        return (f"{self.group} {self.in_type} -> {self.out_type}, k={self.kernel_size}, rule {self.rule}, "
                f"basis version {self.basis_version}, checksum {list(self.checksum)}")


def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor of shape {tuple(x.shape)}"
    return type(x).__name__


def _close(a, b) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= CHECKSUM_RTOL * max(1.0, abs(x), abs(y)) for x, y in zip(a, b))


def basis_checksum(blocks) -> tuple:
    """Two numbers that identify a list of bases (each (n, d_out, d_in, k, k)), rounded to 1e-6.

    Each block is contracted with fixed weights over its elements and the result with two fixed patterns over
    its entries; the values are O(1) and stable to ~1e-14 under rounding, so they are compared with a tolerance.
    """
    total = np.zeros(2)
    for b, B in enumerate(blocks):
        B = np.asarray(B, dtype=np.float64)
        if B.shape[0] == 0:
            continue
        flat = B.reshape(B.shape[0], -1)
        n, m = flat.shape
        w = np.cos(1.0 + 0.7548776662466927 * np.arange(n) + 0.1 * b)
        u = w @ flat
        t = 0.5698402909980532 * np.arange(m) + 0.3
        total += np.array([u @ np.cos(t), u @ np.sin(t)]) / np.sqrt(n)
    return tuple(round(float(v), 6) for v in total)


def describe_field_type(ft) -> str:
    """A field type as text: its group's fields by representation name and size, in order."""
    return "[" + ", ".join(f"{r.name}({r.size})" for r in ft.reps) + "]"
