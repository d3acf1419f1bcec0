"""BasisExpansion: the coefficients -> filter component that SteerableConv2d (and any future layer kind) uses."""
import torch

from equinet.groups import cyclic, dihedral
from equinet.nn import BasisExpansion, FieldType, SteerableConv2d


def _types():
    G = dihedral(4)
    return G, FieldType(G, [G.trivial, G.regular]), FieldType(G, [G.regular, G.irreps()[-1], G.trivial])


def test_expansion_is_the_sum_of_coefficients_times_basis_elements():
    G, tin, tout = _types()
    exp = BasisExpansion(tin, tout, kernel_size=3)
    w = torch.randn(exp.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ref = torch.zeros(tout.size, tin.size, 3, 3, dtype=torch.float64)
    for b in exp.blocks:
        B = getattr(exp, b.name).double()
        o, i = getattr(exp, b.name + "_out"), getattr(exp, b.name + "_in")
        d_o, d_i = B.shape[1], B.shape[2]
        W = w[b.start:b.start + b.n_out * b.n_in * b.n_basis].view(b.n_out, b.n_in, b.n_basis)
        for a in range(b.n_out):
            for c in range(b.n_in):
                blk = torch.einsum("n,nijkl->ijkl", W[a, c], B)
                ref[o[a * d_o:(a + 1) * d_o][:, None], i[c * d_i:(c + 1) * d_i][None, :]] += blk
    assert sum(b.n_out * b.n_in * b.n_basis for b in exp.blocks) == exp.dim
    torch.testing.assert_close(exp(w), ref, rtol=0, atol=1e-12)


def test_the_layer_expands_through_the_component_and_keeps_its_state_dict():
    G, tin, tout = _types()
    torch.manual_seed(0)
    layer = SteerableConv2d(tin, tout, 3)
    assert torch.equal(layer.expand()[0], layer.expansion(layer.weight))
    assert set(layer.state_dict()) == {"weight", "bias", "_extra_state"}
    assert layer.expansion.dim == layer.weight.numel()


def test_init_gives_the_he_variance_per_output_channel():
    G = cyclic(8)
    exp = BasisExpansion(FieldType(G, [G.regular] * 3), FieldType(G, [G.regular] * 2), kernel_size=5)
    torch.manual_seed(1)
    norms = torch.stack([exp(exp.init_(torch.empty(exp.dim, dtype=torch.float64), gain=2.0)).pow(2).sum((1, 2, 3))
                         for _ in range(400)])
    # E ||filter of one output channel||² = gain² (the basis is orthonormal); 400 draws x 16 channels
    assert abs(float(norms.mean()) - 4.0) < 0.1
