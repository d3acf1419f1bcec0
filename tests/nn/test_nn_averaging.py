"""GroupAveraged (Reynolds operator): exact equivariance on the grid, export, field types, errors; RandomlyAveraged
(one random term per call)."""
import pytest
import torch

from equinet import groups, testing
from equinet.nn import FieldType, GroupAveraged, RandomlyAveraged, SteerableConv2d, is_standard


def plain_net(cin=1, cout=1, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv2d(cin, 4, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.Conv2d(4, cout, 3, padding=1, bias=False))


@pytest.mark.parametrize("G", [groups.cyclic(2), groups.cyclic(4), groups.dihedral(1), groups.dihedral(4)], ids=repr)
def test_average_of_a_plain_cnn_is_exactly_equivariant_on_the_grid(G):
    f = plain_net()
    base = testing.check_equivariance(f, None, None, elements=G, image_size=(16, 17), channels=1)
    avg = testing.check_equivariance(GroupAveraged(f, G), None, None, elements=G, image_size=(16, 17), channels=1)
    assert avg.max_error(grid=True) < 1e-13
    if G.order > 1:
        assert base.max_error(grid=True) > 0.1  # the wrapped network is not equivariant: averaging did the work


def test_average_is_a_projection_and_fixes_equivariant_maps():
    G = groups.dihedral(4)
    f = plain_net().double()
    avg = GroupAveraged(f, G)
    x = torch.randn(2, 1, 12, 12, dtype=torch.float64)
    twice = GroupAveraged(avg, G)
    assert torch.allclose(twice(x), avg(x), atol=1e-13)  # Reynolds operator is idempotent
    conv = SteerableConv2d(FieldType.trivial(G), FieldType.trivial(G), 5).double()
    assert torch.allclose(GroupAveraged(conv, G)(x), conv(x), atol=1e-12)


def test_larger_groups_exact_on_grid_subgroup_and_close_off_grid():
    G = groups.cyclic(8)
    avg = GroupAveraged(plain_net(), G, method="fourier")
    r = testing.check_equivariance(avg, None, None, elements=G, image_size=33, channels=1)
    assert r.max_error(grid=True) < 1e-13
    assert r.max_error(grid=False) < 2e-2  # limited by the interpolated 45° rotation, not by the network
    assert not avg.exact


def test_field_types_and_export():
    G = groups.dihedral(4)
    fin, fout = FieldType.trivial(G, 1), FieldType(G, [G.regular])
    avg = GroupAveraged(torch.nn.Conv2d(1, 8, 3, padding=1), G, fin, fout)
    assert testing.check_equivariance(avg, fin, fout, image_size=16).max_error(grid=True) < 1e-13
    exported = avg.export()
    assert is_standard(exported)
    x = torch.randn(2, 1, 16, 16)
    assert torch.allclose(exported(x), avg(x), atol=1e-6)


def test_clear_errors():
    with pytest.raises(ValueError, match="continuous"):
        GroupAveraged(plain_net(), groups.so2(4))
    with pytest.raises(TypeError, match="callable"):
        GroupAveraged(3, groups.cyclic(4))
    with pytest.raises(ValueError, match="method"):
        GroupAveraged(plain_net(), groups.cyclic(4), method="nearest")
    with pytest.raises(ValueError, match="grid-preserving"):
        GroupAveraged(plain_net(), groups.cyclic(8)).export()
    with pytest.raises(ValueError, match="C4"):
        GroupAveraged(plain_net(), groups.cyclic(8), in_type=FieldType.trivial(groups.cyclic(4)))


@pytest.mark.parametrize("G", [groups.cyclic(4), groups.cyclic(8), groups.dihedral(4)], ids=repr)
def test_random_terms_are_the_terms_of_the_average_drawn_uniformly_from_a_seed(G):
    f = plain_net().double()
    rand, full = RandomlyAveraged(f, G, seed=5), GroupAveraged(f, G)
    x = torch.randn(1, 1, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    n = len(rand.elements)
    torch.testing.assert_close(sum(rand.conjugated(i, x) for i in range(n)) / n, full(x), rtol=0, atol=1e-13)
    draws = []
    for _ in range(60 * n):
        out = rand(x)
        draws.append(rand.elements.index(rand.last_element))
        if len(draws) <= n:
            assert torch.equal(out, rand.conjugated(draws[-1], x))
    counts = [draws.count(i) for i in range(n)]
    assert min(counts) >= 30 and max(counts) <= 90  # uniform: 60 expected each

    def draw():
        rand(x)
        return rand.elements.index(rand.last_element)

    rand.manual_seed()  # the construction seed again: the same sequence
    assert [draw() for _ in range(20)] == draws[:20]


def test_random_terms_refuse_export_and_a_bad_seed():
    f = plain_net()
    with pytest.raises(TypeError, match="seed must be an int"):
        RandomlyAveraged(f, groups.cyclic(4), seed=1.5)
    with pytest.raises(TypeError, match="draws an element per call and is not exported"):
        RandomlyAveraged(f, groups.cyclic(4)).export()
    assert "seed=0" in repr(RandomlyAveraged(f, groups.cyclic(4)))
