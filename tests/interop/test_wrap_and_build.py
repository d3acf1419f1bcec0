"""Wrapped escnn / e2cnn modules as plain-tensor equinet modules; escnn DnCNNs built from a NetSpec, inside
UnrolledPGD, the equivariance checks, the trainer and export."""
import copy
import math

import pytest
import torch

escnn = pytest.importorskip("escnn", reason="escnn is an optional reference (pip install -e '.[escnn]')")
pytest.importorskip("e2cnn", reason="e2cnn is an optional reference (pip install -e '.[escnn]')")

from equinet import groups, physics, testing  # noqa: E402
from equinet.interop import LibraryModule, build_escnn, from_escnn, gspace_for, to_escnn, wrap  # noqa: E402
from equinet.nets import NetSpec, build, count_parameters  # noqa: E402
from equinet.nn import FieldType, is_standard  # noqa: E402
from equinet.training.supervised import fit_supervised  # noqa: E402
from equinet.unrolled import UnrolledPGD  # noqa: E402

# The libraries sample their kernel bases in float32 (and some layers do not follow a cast to float64), so exact
# equivariance shows as float32 rounding: ~2e-7 relative error on grid elements; a wrong type gives > 0.1.
GRID_ATOL = {"escnn": 1e-6, "e2cnn": 1e-6}


def vector_irrep(G):
    return G.irrep(1, 1) if G.reflections else G.irrep(1)


def small_library_net(library, G, axis):
    """trivial -> 2 regular -> (trivial + vector) conv net written directly in the library."""
    gmap = gspace_for(G, library, axis=axis)
    nn_ = gmap.lib.nn
    t_in = to_escnn(FieldType.trivial(G), gmap)
    hid = nn_.FieldType(gmap.gspace, [gmap.gspace.regular_repr] * 2)
    t_out = to_escnn(FieldType(G, [G.trivial, vector_irrep(G)]), gmap)
    torch.manual_seed(0)
    kw = {"recompute": True} if library == "e2cnn" else {}  # e2cnn's basis cache ignores the flip axis
    return nn_.SequentialModule(nn_.R2Conv(t_in, hid, 5, padding=2, **kw), nn_.ReLU(hid),
                                nn_.R2Conv(hid, t_out, 3, padding=1, **kw))


WRAPS = [("escnn", groups.cyclic(4), 0.0), ("escnn", groups.cyclic(8), 0.0), ("escnn", groups.dihedral(4), 0.0),
         ("escnn", groups.dihedral(4), math.pi / 2), ("e2cnn", groups.dihedral(4), math.pi / 2)]


@pytest.mark.parametrize("library,G,axis", WRAPS, ids=[f"{lib}-{G!r}-axis{a:.2f}" for lib, G, a in WRAPS])
def test_wrapped_modules_are_equivariant_on_the_grid_in_equinet_terms(library, G, axis):
    m = wrap(small_library_net(library, G, axis))
    assert m.in_type == FieldType.trivial(G)
    assert m.out_type.size == 3
    els = [g for g in G.elements() if g.preserves_grid]
    report = testing.assert_equivariant(m, m.in_type, m.out_type, els, atol=GRID_ATOL[library], image_size=(16, 17))
    assert len(report.rows) == 2 * len(els)
    # the check can fail: the same function with the output's vector field read as two scalars
    wrong = FieldType(G, [G.trivial] * 3)
    report = testing.check_equivariance(lambda x: m(x), m.in_type, wrong, els, image_size=16, dtype=None)
    assert report.max_error(grid=True) > 0.1


def test_user_subclasses_of_library_modules_are_wrapped():
    lib_nn = escnn.nn

    class UserModel(lib_nn.EquivariantModule):  # a model class defined outside escnn
        def __init__(self, conv):
            super().__init__()
            self.conv, self.in_type, self.out_type = conv, conv.in_type, conv.out_type

        def forward(self, x):
            return self.conv(x)

        def evaluate_output_shape(self, shape):
            return self.conv.evaluate_output_shape(shape)

    G = groups.cyclic(4)
    conv = lib_nn.R2Conv(to_escnn(FieldType.trivial(G)), to_escnn(FieldType.regular(G, 1)), 3, padding=1)
    m = wrap(UserModel(conv))
    assert m.library == "escnn" and m.out_type == FieldType.regular(G, 1)
    testing.assert_equivariant(m, m.in_type, m.out_type, atol=GRID_ATOL["escnn"], image_size=9)


def test_wrapper_forward_export_and_errors():
    net = small_library_net("escnn", groups.dihedral(4), math.pi / 2)
    m = wrap(net).eval()
    x = torch.randn(2, 1, 12, 13, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(m(x), net(net.in_type(x)).tensor, atol=0, rtol=0)
    exported = m.export()
    assert is_standard(exported)
    torch.testing.assert_close(exported(x), m(x), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="expects 1"):
        m(torch.randn(1, 2, 8, 8))
    with pytest.raises(ValueError, match="must be the output fields"):
        wrap(net, residual=True)
    with pytest.raises(ValueError, match="is of D4, not of C4"):
        LibraryModule(net, group=groups.cyclic(4))


@pytest.fixture(scope="module")
def c8_spec():
    return NetSpec("C8", width=2, depth=3, kernel_size=5)


@pytest.fixture(scope="module")
def c8_escnn(c8_spec):
    torch.manual_seed(0)
    return build_escnn("dncnn", c8_spec)


def test_built_dncnn_matches_the_spec(c8_spec, c8_escnn):
    net = c8_escnn
    assert net.in_type == c8_spec.image_type(1) and net.out_type == c8_spec.image_type(1) and net.residual
    convs = [m for m in net.module.modules() if type(m).__name__ == "R2Conv"]
    assert len(convs) == c8_spec.depth
    assert all(c.kernel_size == 5 for c in convs)
    assert from_escnn(convs[0].out_type, c8_spec.G) == c8_spec.hidden_type()
    # same steerable basis dimensions as equinet's (cross-checked in tests/kernels): same parameter count
    assert count_parameters(net) == count_parameters(build("dncnn", c8_spec))
    exported = net.export()
    assert is_standard(exported)
    x = torch.randn(2, 1, 16, 16, generator=torch.Generator().manual_seed(2))
    net.eval()
    torch.testing.assert_close(exported(x), net(x), atol=1e-5, rtol=1e-5)
    assert net.output_layer is convs[-1]
    zeroed = copy.deepcopy(net).zero_output_layer()
    assert not zeroed.training
    torch.testing.assert_close(zeroed(x), x, atol=0, rtol=0)  # residual: the identity
    assert net(x).sub(x).abs().max() > 1e-3  # the original is untouched


VARIANTS = [("D4", "softplus", True, "e2cnn"), ("C4", "leaky_relu", False, "e2cnn"), ("O2", "relu", True, "escnn")]


@pytest.mark.parametrize("group,activation,bias,library", VARIANTS, ids=["-".join(map(str, v)) for v in VARIANTS])
def test_built_dncnn_variants_are_equivariant(group, activation, bias, library):
    spec = NetSpec(group, width=1, depth=3, kernel_size=3, activation=activation, bias=bias, max_frequency=2)
    torch.manual_seed(1)
    net = build_escnn("dncnn", spec, library=library)
    assert net.in_type == spec.image_type(1) and net.out_type == spec.image_type(1)
    assert count_parameters(net) == count_parameters(build("dncnn", spec))
    grid = [g for g in spec.G.testing_elements(4) if g.preserves_grid]
    testing.assert_equivariant(net, net.in_type, net.out_type, grid, atol=GRID_ATOL[library], image_size=15)
    if not bias:  # positively homogeneous
        x = torch.randn(1, 1, 12, 12, generator=torch.Generator().manual_seed(3))
        torch.testing.assert_close(net(3.0 * x), 3.0 * net(x), atol=1e-5, rtol=1e-5)


class Reconstruction(torch.nn.Module):
    """y -> UnrolledPGD(y, A): the reconstruction as one module (the equivariance checks copy it to float64)."""

    def __init__(self, pgd, A):
        super().__init__()
        self.pgd, self.A = pgd, A

    def forward(self, y):
        return self.pgd(y, self.A)


def test_escnn_dncnn_in_unrolled_pgd_is_equivariant_and_trains(c8_spec, c8_escnn):
    A = physics.Radon(image_size=16, angles=8)  # angles k·22.5°: closed under 90° turns
    pgd = UnrolledPGD(A, c8_escnn, n_iter=2, init="pinv")
    quarter = [g for g in c8_spec.G.elements() if g.preserves_grid]
    report = testing.check_system_equivariance(Reconstruction(pgd, A), A, elements=quarter, image_size=16)
    assert report.max_error(grid=True) < GRID_ATOL["escnn"]
    # the same check fails for an operator whose angles are not closed under 90° turns
    B = physics.Radon(image_size=16, angles=[0.0, 30.0, 75.0])
    bad = testing.check_system_equivariance(Reconstruction(pgd, B), B, elements=quarter, image_size=16)
    assert bad.max_error(grid=True) > 1e-2
    with pytest.raises(ValueError, match="need 1 -> 1"):
        UnrolledPGD(A, build_escnn("dncnn", NetSpec("C4", in_channels=2, width=1, depth=2, kernel_size=3)))
    before = [p.detach().clone() for p in pgd.prox.parameters()]
    x = torch.rand(4, 1, 16, 16, generator=torch.Generator().manual_seed(4))
    hist = fit_supervised(pgd, A, x, steps=2, batch_size=2, lr=1e-2, seed=0)
    assert len(hist.loss) == 2 and all(math.isfinite(v) for v in hist.loss)
    assert all(not torch.equal(a, b) for a, b in zip(before, pgd.prox.parameters()))


def test_builder_refuses_what_it_cannot_build(c8_spec):
    with pytest.raises(ValueError, match="builds \\('dncnn',\\)"):
        build_escnn("unet", c8_spec)
    with pytest.raises(ValueError, match="bias=False, batch_norm=True"):
        build_escnn("dncnn", NetSpec("C4", width=1, depth=3, kernel_size=3, bias=False, batch_norm=True))
    with pytest.raises(TypeError, match="NetSpec"):
        build_escnn("dncnn", {"group": "C4"})
