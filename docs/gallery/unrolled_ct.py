"""Unrolled PGD for sparse-view CT with a C4-equivariant proximal network: the whole map y -> u is
equivariant to 90° turns when the Radon angles are closed under them (here 8 evenly spaced views)."""
from equinet import groups, physics, testing
from equinet.nets import NetSpec, build
from equinet.unrolled import UnrolledPGD

A = physics.Radon(image_size=33, angles=8).double()
prox = build("dncnn", NetSpec("C4", width=2, depth=3, kernel_size=3))
recon = UnrolledPGD(A, prox, n_iter=3).double()

report = testing.check_system_equivariance(lambda y: recon(y, A), A, elements=groups.cyclic(4), image_size=33)
print(report)
assert report.max_error(grid=True) < 1e-6
