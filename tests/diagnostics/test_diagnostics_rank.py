"""Rank condition of M = [A T_1; …; A T_|G|]: exact answers on the Corollary-1 cases, probing agrees with exact."""
import pytest
import torch

from equinet import diagnostics, groups, physics

N = 16
BINOMIAL = torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([1.0, 2.0, 1.0])) / 16


def shifts(count, size=N, seed=0):
    g = torch.Generator().manual_seed(seed)
    offs = [(0, 0)] + [tuple(int(v) for v in torch.randint(0, size, (2,), generator=g)) for _ in range(count - 1)]
    return [lambda x, s=s: torch.roll(x, s, dims=(-2, -1)) for s in offs]


def test_exact_rank_matches_dense_matrix():
    """The exact route equals numpy's rank of the explicitly built M (compressed sensing: a dense known A)."""
    A = physics.CompressedSensing(8, m=20, seed=1)
    G = groups.cyclic(4)
    r = diagnostics.rank_condition(A, G, method="exact")
    mats = []
    for g in G.elements():
        P = torch.stack([groups.act(g, e.reshape(1, 1, 8, 8)).flatten() for e in torch.eye(64, dtype=torch.float64)])
        mats.append(A.matrix @ P.T)
    M = torch.cat(mats)
    assert r.rank_A == torch.linalg.matrix_rank(A.matrix) == 20
    assert r.rank_M == torch.linalg.matrix_rank(M) == 64


def test_rank_of_a_shift_equivariant_operator_is_not_increased_by_shifts():
    """Corollary 1: MRI and circular blur commute with cyclic shifts, so rank M = rank A < n."""
    for A in (physics.MRI(N, acceleration=4), physics.Blur(BINOMIAL, image_size=N)):
        r = diagnostics.rank_condition(A, shifts(4), method="exact")
        assert r.rank_M == r.rank_A < r.n
    r = diagnostics.rank_condition(physics.Blur(BINOMIAL, image_size=N), shifts(4), method="exact")
    assert r.rank_A == (N - 1) ** 2  # transfer function (1 + cos ωx)(1 + cos ωy)/4 vanishes on the Nyquist lines


def test_shifts_suffice_for_inpainting_and_rotations_help_ct_and_mri():
    inp = diagnostics.rank_condition(physics.Inpainting(N, drop=0.3), shifts(8), method="exact")
    assert inp.rank_A == round(0.7 * N * N) and inp.full_rank
    ct = diagnostics.rank_condition(physics.Radon(N, angles=5, circle=False), groups.cyclic(4), method="exact")
    assert ct.rank_M > ct.rank_A and not ct.full_rank
    mri = diagnostics.rank_condition(physics.MRI(N, acceleration=4), groups.cyclic(4), method="exact")
    assert mri.rank_M > mri.rank_A


def test_ct_with_views_closed_under_quarter_turns_gains_nothing_from_c4():
    """8 views (multiples of 22.5°) are mapped onto themselves by 90° turns: the Radon transform is C4-equivariant."""
    r = diagnostics.rank_condition(physics.Radon(N, angles=8, circle=False), groups.cyclic(4), method="exact")
    assert r.rank_M == r.rank_A < r.n


def test_probe_agrees_with_exact():
    """Same tolerance, both routes: the estimate is within 5 standard errors + 3% of n of the exact count."""
    cases = [(physics.Inpainting(N, drop=0.3), groups.cyclic(4)),
             (physics.Radon(N, angles=5, circle=False), groups.cyclic(4)),
             (physics.MRI(N, acceleration=4), shifts(3))]
    for A, T in cases:
        ex = diagnostics.rank_condition(A, T, method="exact", rtol=1e-2)
        pr = diagnostics.rank_condition(A, T, method="probe", rtol=1e-2, probes=8, steps=60, seed=0)
        for a, b, s in ((ex.rank_A, pr.rank_A, pr.rank_A_stderr), (ex.rank_M, pr.rank_M, pr.rank_M_stderr)):
            assert abs(a - b) <= 5 * s + 0.03 * ex.n, (type(A).__name__, a, b, s)
        assert ex.full_rank == pr.full_rank


def test_probe_detects_a_nullspace_and_its_absence():
    full = diagnostics.rank_condition(physics.Inpainting(N, drop=0.3), shifts(8), method="probe", probes=4)
    assert full.nullity_M == 0 and full.full_rank
    part = diagnostics.rank_condition(physics.Inpainting(N, drop=0.3), [lambda x: x], method="probe", probes=4)
    assert part.nullity_M > 0.1 * part.n and not part.full_rank


def test_transform_object_with_enumerate_and_apply():
    """Duck-typed transforms (enumerate() -> parameters of every element, apply(x, params) per sample)."""
    class Shifts:
        def enumerate(self):
            return torch.tensor([[0, 0], [3, 5], [7, 1]])

        def apply(self, x, params):
            return torch.stack([torch.roll(xi, (int(p[0]), int(p[1])), dims=(-2, -1)) for xi, p in zip(x, params)])

    a = diagnostics.rank_condition(physics.Inpainting(N, drop=0.3), Shifts(), method="exact")
    b = diagnostics.rank_condition(physics.Inpainting(N, drop=0.3),
                                   [lambda x, s=s: torch.roll(x, s, dims=(-2, -1)) for s in ((0, 0), (3, 5), (7, 1))],
                                   method="exact")
    assert a.rank_M == b.rank_M and a.n_transforms == 3


def test_bad_inputs_are_refused_with_clear_errors():
    A = physics.Inpainting(N)
    with pytest.raises(ValueError, match="continuous"):
        diagnostics.rank_condition(A, groups.so2(4))
    with pytest.raises(TypeError, match="transforms must be"):
        diagnostics.rank_condition(A, 3)
    with pytest.raises(ValueError, match="method"):
        diagnostics.rank_condition(A, groups.cyclic(4), method="svd")
    with pytest.raises(ValueError, match="image_size"):
        diagnostics.rank_condition(physics.Denoising(), groups.cyclic(4))
    with pytest.raises(ValueError, match="rtol"):
        diagnostics.rank_condition(A, groups.cyclic(4), rtol=2.0)


def test_large_transform_sets_are_subsampled_and_said_so():
    from equinet.transforms import Shift
    A = physics.Inpainting(N, drop=0.3)
    r = diagnostics.rank_condition(A, Shift(image_size=N), method="exact", max_transforms=8)
    assert r.details["transforms_total"] == N * N and r.details["transforms_used"] == r.n_transforms == 8
    assert r.full_rank
    assert "subset of 256" in str(diagnostics.identifiability_report(A, Shift(image_size=N), max_transforms=8))


def test_support_restricts_m_to_images_vanishing_outside_it():
    """With a support mask, the exact rank is numpy's rank of M restricted to the support's columns, both routes
    agree, and the disk is where off-grid rotations keep pixels in view."""
    A = physics.CompressedSensing(8, m=12, seed=2)
    G = groups.cyclic(8)
    mask = diagnostics.support_mask("disk", (8, 8))
    assert int(mask.sum()) == 32 and bool(mask[3:5, 3:5].all()) and not bool(mask[0, 0])
    r = diagnostics.rank_condition(A, G, method="exact", support="disk")
    cols = torch.nonzero(mask.flatten()).flatten()
    mats = []
    for g in G.elements():
        P = torch.stack([groups.act(g, e.reshape(1, 1, 8, 8), method="bilinear").flatten()
                         for e in torch.eye(64, dtype=torch.float64)])
        mats.append(A.matrix @ P.T)
    M = torch.cat(mats)[:, cols]
    assert r.n == 32 and r.details["n_total"] == 64 and r.details["support"] == "disk"
    assert r.rank_A == torch.linalg.matrix_rank(A.matrix[:, cols]) == 12
    assert r.rank_M == torch.linalg.matrix_rank(M)
    # an explicit all-true mask is the full problem
    full = diagnostics.rank_condition(A, G, method="exact")
    every = diagnostics.rank_condition(A, G, method="exact", support=torch.ones(8, 8, dtype=torch.bool))
    assert (every.n, every.rank_A, every.rank_M) == (full.n, full.rank_A, full.rank_M)


def test_rotations_expose_all_of_ct_on_the_disk_but_not_the_corners():
    """12-view CT at 16²: 36 rotations by 10° leave corner directions unexposed on the full grid; on the disk the
    rank condition holds (exact and probed)."""
    from equinet.transforms import Rotate
    A = physics.Radon(N, angles=12)
    full = diagnostics.rank_condition(A, Rotate(), method="exact", max_transforms=16)
    disk = diagnostics.rank_condition(A, Rotate(), method="exact", max_transforms=16, support="disk")
    assert not full.full_rank and disk.full_rank and disk.n < full.n
    pr = diagnostics.rank_condition(A, Rotate(), method="probe", max_transforms=16, support="disk", rtol=1e-2,
                                    probes=4, steps=60)
    ex = diagnostics.rank_condition(A, Rotate(), method="exact", max_transforms=16, support="disk", rtol=1e-2)
    assert pr.n == disk.n and abs(pr.rank_M - ex.rank_M) <= 5 * pr.rank_M_stderr + 0.03 * pr.n


def test_bad_supports_are_refused():
    A = physics.Inpainting(N, drop=0.3)
    with pytest.raises(ValueError, match="'disk'"):
        diagnostics.rank_condition(A, groups.cyclic(4), support="square")
    with pytest.raises(ValueError, match=r"shape \(16, 16\)"):
        diagnostics.rank_condition(A, groups.cyclic(4), support=torch.ones(8, 8, dtype=torch.bool))
    with pytest.raises(ValueError, match="no pixel"):
        diagnostics.rank_condition(A, groups.cyclic(4), support=torch.zeros(N, N, dtype=torch.bool))
