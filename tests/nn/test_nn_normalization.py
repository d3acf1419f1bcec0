"""Field-wise batch and instance normalisation: equivariance in train and eval mode, the statistics they enforce,
agreement with torch on trivial fields, running statistics and state dicts, bias-free homogeneity, export."""
import pytest
import torch

from equinet import groups
from equinet.testing import grid_equivariance_error
from equinet.nn import EquivariantBatchNorm, EquivariantInstanceNorm, FieldType, is_standard, trivial_projector

C4, D4, C8 = groups.cyclic(4), groups.dihedral(4), groups.cyclic(8)


equivariance_error = grid_equivariance_error  # the one helper, from equinet.testing


def mixed(G):
    one = G.irrep(1, 1) if G.reflections else G.irrep(1)
    sub = groups.flips() if G.reflections else groups.cyclic(2)
    return FieldType(G, [G.regular, one, G.trivial, G.quotient(sub), G.regular])


def randomise(layer, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if layer.weight is not None:
            layer.weight.copy_(torch.rand(layer.weight.shape, generator=g) + 0.5)
        if layer.bias is not None:
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=g))
    return layer


def shifted_input(t, B, size, seed=1):
    """Random fields with a nonzero mean on every channel (also on the non-invariant components)."""
    g = torch.Generator().manual_seed(seed)
    return 2.0 * torch.randn(B, t.size, size, size, generator=g) + torch.randn(1, t.size, 1, 1, generator=g)


@pytest.mark.parametrize("G", [C4, D4, C8], ids=repr)
@pytest.mark.parametrize("bias", [True, False])
def test_batch_norm_equivariant_train_and_eval(G, bias):
    t = mixed(G)
    bn = randomise(EquivariantBatchNorm(t, bias=bias))
    for size in (6, 7):
        x = shifted_input(t, 3, size)
        assert equivariance_error(bn.train(), x) <= 1e-5
        assert equivariance_error(bn.eval(), x) <= 1e-5


@pytest.mark.parametrize("G", [C4, D4, C8], ids=repr)
@pytest.mark.parametrize("bias", [True, False])
def test_instance_norm_equivariant(G, bias):
    t = mixed(G)
    layer = randomise(EquivariantInstanceNorm(t, bias=bias))
    for size in (6, 7):
        assert equivariance_error(layer, shifted_input(t, 2, size)) <= 1e-5


def test_batch_norm_statistics_are_per_field():
    t = mixed(D4)
    bn = EquivariantBatchNorm(t, eps=1e-12)
    x = shifted_input(t, 4, 7).double()
    bn = bn.double()
    y = bn(x)
    for i, r in enumerate(t.reps):
        yi, xi = y[:, t.field_channels(i)], x[:, t.field_channels(i)]
        P = torch.as_tensor(trivial_projector(r))
        # invariant components have zero mean; the field's mean squared norm per channel is one
        # (the layer's projector buffers are float32 constants cast to float64: agreement to ~1e-8)
        torch.testing.assert_close(torch.einsum("ct,bchw->t", P, yi) / yi[:, 0].numel(),
                                   torch.zeros(P.shape[1], dtype=y.dtype), rtol=0, atol=1e-7)
        torch.testing.assert_close(yi.pow(2).sum(1).mean() / r.size, torch.tensor(1.0, dtype=y.dtype),
                                   rtol=1e-7, atol=0)
        # the non-invariant part is only scaled, never shifted: its mean is the input's times the field scale
        Q = torch.eye(r.size, dtype=y.dtype) - P @ P.T
        m_in = Q @ xi.mean((0, 2, 3))
        m_out = Q @ yi.mean((0, 2, 3))
        scale = (m_out.norm() / m_in.norm()) if m_in.norm() > 0 else torch.tensor(0.0)
        torch.testing.assert_close(m_out, scale * m_in, rtol=1e-7, atol=1e-9)
        if r.size == 2:  # irrep(1,1): nothing invariant, mean kept
            assert m_out.norm() > 0.05


def test_trivial_fields_match_torch_batch_norm():
    t = FieldType.trivial(C4, 5)
    for momentum in (0.1, None):
        ours = randomise(EquivariantBatchNorm(t, momentum=momentum))
        ref = torch.nn.BatchNorm2d(5, momentum=momentum)
        with torch.no_grad():
            ref.weight.copy_(ours.weight)
            ref.bias.copy_(ours.bias)
        for k in range(3):
            x = shifted_input(t, 4, 6, seed=k)
            torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(ours.running_mean, ref.running_mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(ours.running_var, ref.running_var, rtol=1e-5, atol=1e-6)
        assert ours.num_batches_tracked == ref.num_batches_tracked == 3
        ours.eval(), ref.eval()
        x = shifted_input(t, 2, 5, seed=9)
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_trivial_fields_match_torch_instance_norm():
    t = FieldType.trivial(D4, 4)
    ours = randomise(EquivariantInstanceNorm(t))
    ref = torch.nn.InstanceNorm2d(4, affine=True)
    with torch.no_grad():
        ref.weight.copy_(ours.weight)
        ref.bias.copy_(ours.bias)
    x = shifted_input(t, 3, 7)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_running_variance_of_a_regular_field_is_unbiased_on_the_invariant_part():
    """One regular C4 field, a batch whose invariant component has variance a and the rest mean square b:
    running_var = (a·n/(n-1) + 3b)/4 after one step with momentum 1."""
    t = FieldType.regular(C4, 1)
    bn = EquivariantBatchNorm(t, momentum=1.0).double()
    x = torch.randn(3, 4, 5, 5, dtype=torch.float64) + 0.7
    y = bn(x)
    P = torch.as_tensor(trivial_projector(C4.regular))
    inv = torch.einsum("ct,bchw->bthw", P, x)
    n = inv.numel()
    a = inv.var(unbiased=False)
    rest = x - torch.einsum("ct,bthw->bchw", P, inv)
    b = rest.pow(2).sum(1).mean() / 3
    torch.testing.assert_close(bn.running_var, ((a * n / (n - 1) + 3 * b) / 4).view(1), rtol=1e-12, atol=0)
    torch.testing.assert_close(bn.running_mean, inv.mean().view(1), rtol=1e-12, atol=0)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("bias", [True, False])
def test_state_dict_identical_in_train_and_eval(bias):
    t = mixed(D4)
    bn = EquivariantBatchNorm(t, bias=bias)
    shapes = lambda m: {k: tuple(v.shape) for k, v in m.state_dict().items()}  # noqa: E731
    before = shapes(bn)
    bn(shifted_input(t, 2, 5))
    after_train = shapes(bn)
    bn.eval()
    with torch.no_grad():
        bn(shifted_input(t, 2, 5))
    assert before == after_train == shapes(bn)
    expected = {"weight", "running_var", "running_mean", "num_batches_tracked", "_extra_state"}  # + field type
    expected |= {"bias"} if bias else set()
    assert set(before) == expected
    n_inv = 4  # one invariant direction in each regular, trivial and quotient field; none in irrep(1,1)
    assert before["running_var"] == (5,) and before["weight"] == (5,)
    assert before["running_mean"] == ((n_inv,) if bias else (0,))
    if bias:
        assert before["bias"] == (n_inv,)
    fresh = EquivariantBatchNorm(t, bias=bias).eval()
    fresh.load_state_dict(bn.state_dict())
    x = shifted_input(t, 2, 5, seed=4)
    torch.testing.assert_close(fresh(x), bn(x), rtol=0, atol=0)


def test_bias_free_batch_norm_is_positively_homogeneous_in_eval():
    t = mixed(C4)
    bn = randomise(EquivariantBatchNorm(t, bias=False))
    assert bn.bias is None and bn.running_mean.numel() == 0
    for k in range(3):
        bn(shifted_input(t, 4, 6, seed=k))
    bn.eval()
    x = shifted_input(t, 2, 6, seed=7)
    y = bn(x)
    for c in (0.3, 7.0):
        torch.testing.assert_close(bn(c * x), c * y, rtol=1e-5, atol=1e-6)
    assert bn(torch.zeros_like(x)).abs().max() == 0
    # with bias=True the same layer is affine, not homogeneous (the check can fail)
    bn_b = randomise(EquivariantBatchNorm(t, bias=True))
    bn_b(shifted_input(t, 4, 6)), bn_b.eval()
    assert (bn_b(3.0 * x) - 3.0 * bn_b(x)).abs().max() > 0.1


def test_normalisation_export():
    t = mixed(D4)
    bn = randomise(EquivariantBatchNorm(t))
    for k in range(2):
        bn(shifted_input(t, 4, 6, seed=k))
    layers = [bn.eval(), randomise(EquivariantBatchNorm(t, bias=False)).eval(), randomise(EquivariantInstanceNorm(t)),
              EquivariantInstanceNorm(t, affine=False, bias=False), EquivariantBatchNorm(t, affine=False).eval()]
    x = shifted_input(t, 2, 7, seed=5)
    for layer in layers:
        ex = layer.export()
        assert is_standard(ex)
        torch.testing.assert_close(ex(x), layer(x), rtol=1e-5, atol=1e-5)


def test_errors():
    t = mixed(D4)
    with pytest.raises(ValueError, match=r"FieldType\(D4.*expects 23"):
        EquivariantBatchNorm(t)(torch.randn(2, 22, 4, 4))
    with pytest.raises(ValueError, match="more than one value"):
        EquivariantBatchNorm(t)(torch.randn(1, t.size, 1, 1))
    with pytest.raises(ValueError, match="momentum"):
        EquivariantBatchNorm(t, momentum=2.0)
    with pytest.raises(ValueError, match="eps"):
        EquivariantInstanceNorm(t, eps=0.0)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine", [True, False])
def test_scalar_fast_path_equals_the_field_wise_formula(momentum, affine):
    """Trivial fields take torch's batch norm; the field-wise computation gives the same values, gradients and
    running statistics (float64, to rounding)."""
    import copy
    t = FieldType.trivial(C4, 5)
    fast = EquivariantBatchNorm(t, affine=affine, momentum=momentum).double()
    if affine:
        randomise(fast)
    general = copy.deepcopy(fast)
    general._scalar = False
    assert fast._scalar
    for k in range(3):
        x = shifted_input(t, 4, 6, seed=k).double().requires_grad_()
        a, b = fast(x), general(x)
        ga, gb = (torch.autograd.grad(y.pow(3).sum(), x)[0] for y in (a, b))
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
        torch.testing.assert_close(ga, gb, rtol=0, atol=1e-10)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(fast, name), getattr(general, name), rtol=0, atol=1e-14)
    fast.eval(), general.eval()
    x = shifted_input(t, 2, 5, seed=9).double()
    torch.testing.assert_close(fast(x), general(x), rtol=0, atol=1e-12)
    torch.testing.assert_close(fast.export()(x), fast(x), rtol=0, atol=1e-12)
