"""Solve the steerable kernel constraint k(Hx) π_in(H) = π_out(H) k(x), then build a layer on the basis and
check that it is equivariant."""
from equinet import groups, kernels, testing
from equinet.nn import FieldType, SteerableConv2d

G = groups.dihedral(4)
for k in (3, 5, 7):
    B = kernels.steerable_basis(G.regular, G.regular, kernel_size=k)  # [n_basis, 8, 8, k, k]
    print(f"D4 regular -> regular, {k}x{k}: {B.shape[0]} basis elements")

conv = SteerableConv2d(FieldType.regular(G, 2), FieldType.regular(G, 2), kernel_size=5)
report = testing.check_equivariance(conv, conv.in_type, conv.out_type)
assert report.max_error(grid=True) < 1e-5
print("max error on the 8 grid-preserving elements:", f"{report.max_error(grid=True):.1e}")
