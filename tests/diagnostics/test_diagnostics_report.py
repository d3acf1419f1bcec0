"""irrep_multiplicities (characters) and identifiability_report."""
import pytest
import torch

from equinet import diagnostics, groups, physics


@pytest.mark.parametrize("G", [groups.cyclic(2), groups.cyclic(4), groups.dihedral(1), groups.dihedral(4)],
                         ids=repr)
@pytest.mark.parametrize("size", [4, 5, 12])
def test_multiplicities_match_the_numerical_decomposition(G, size):
    """Characters give the same multiplicities as decomposing the explicit permutation representation."""
    mu = diagnostics.irrep_multiplicities(G, size)
    n = size * size
    idx = torch.arange(n, dtype=torch.float64).reshape(1, 1, size, size)
    perms = {}
    for g in G.elements():
        p = groups.act(g, idx).flatten().long()
        P = torch.zeros(n, n, dtype=torch.float64)
        P[torch.arange(n), p] = 1.0
        perms[g] = P.numpy()
    rep = G.representation(lambda g: perms[g])
    ref = {psi.name: c for psi, c in rep.multiplicities().items()}
    assert {k: v for k, v in mu.counts.items() if v} == ref
    assert mu.max >= n / G.order  # max c_j >= n/|G|


def test_multiplicities_values_and_bound():
    mu = diagnostics.irrep_multiplicities(groups.cyclic(4), 32)
    assert mu.counts == {"irrep(0)": 256, "irrep(1)": 256, "irrep(2)": 256}
    assert mu.measurements_needed(10) == 2 * 10 + 256 + 2
    assert diagnostics.irrep_multiplicities(groups.cyclic(4), 32, channels=2).max == 512
    with pytest.raises(ValueError, match="permutations"):
        diagnostics.irrep_multiplicities(groups.cyclic(8), 32)


def test_report_answers_and_prints_its_numbers():
    ok = diagnostics.identifiability_report(physics.Inpainting(16, drop=0.3), groups.dihedral(4), model_dim=5)
    assert ok.ok and not ok.range_invariant
    text = str(ok)
    assert "OK" in text and "rank M = 256" in text and "max c_j" in text
    bad = diagnostics.identifiability_report(physics.MRI(16), [lambda x: x, lambda x: torch.roll(x, (3, 5), (-2, -1))])
    assert not bad.ok and bad.range_invariant
    assert "FAILS" in str(bad) and "Corollary 1" in str(bad)
