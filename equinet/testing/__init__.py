"""Equivariance checks to run in your own test suites.

>>> from equinet import groups, testing
>>> from equinet.nn import FieldType, SteerableConv2d
>>> G = groups.cyclic(8)
>>> conv = SteerableConv2d(FieldType.trivial(G), FieldType.regular(G, 2), kernel_size=5)
>>> report = testing.assert_equivariant(conv, conv.in_type, conv.out_type, atol=1e-5, offgrid_atol=1e-2)
>>> report.max_error(grid=True) < 1e-12
True

Protocol, tolerances and measured numbers: ``docs/testing.md``.
"""
from .equivariance import assert_equivariant, assert_invariant, check_equivariance, check_invariance  # noqa: F401
from .given import grid_equivariance_error  # noqa: F401
from .report import EquivarianceReport, ReportRow  # noqa: F401
from .scaling import assert_scaling_equivariant, check_scaling_equivariance  # noqa: F401
from .system import assert_system_equivariant, check_system_equivariance  # noqa: F401

__all__ = ["check_equivariance", "assert_equivariant", "check_invariance", "assert_invariant",
           "check_scaling_equivariance", "assert_scaling_equivariant", "check_system_equivariance",
           "assert_system_equivariant", "EquivarianceReport", "ReportRow", "grid_equivariance_error"]
