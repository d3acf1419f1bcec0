"""Identifiability of an operator family, on cases with known answers: the stacked rank is the number of pixels
(k-space columns) some member keeps, a group can only add to it, and the identity group adds nothing."""
import pytest
import torch

from equinet import groups
from equinet.diagnostics import family_rank
from equinet.physics import Inpainting, OperatorFamily, inpainting_family, mri_family


def test_inpainting_masks_covering_every_pixel_give_full_rank_and_one_mask_its_kept_pixels():
    g = torch.Generator().manual_seed(0)
    owner = torch.randint(0, 3, (6, 6), generator=g)  # every pixel kept by exactly one of three masks
    members = [Inpainting(6, mask=(owner == k).double()) for k in range(3)]
    kept = [int((owner == k).sum()) for k in range(3)]
    r = family_rank(OperatorFamily(members))
    assert r.member_ranks == kept and r.rank_stacked == 36 and r.nullity_stacked == 0 and r.rank_group is None
    assert family_rank(OperatorFamily(members[:1])).rank_stacked == kept[0]
    assert family_rank(OperatorFamily(members[:2])).rank_stacked == kept[0] + kept[1]


def test_random_inpainting_family_rank_is_the_union_of_kept_pixels():
    fam = inpainting_family(7, 4, drop=0.6, seed=1)
    union = torch.stack([m.mask for m in fam]).amax(0)
    assert family_rank(fam).rank_stacked == int(union.sum()) < 49


@pytest.mark.parametrize("g", [1, 2, 4])
def test_mri_stacked_rank_counts_the_sampled_columns_and_rotations_add_to_it(g):
    fam = mri_family(8, g, acceleration=4.0, seed=2)
    cols = int(torch.stack([m.mask[0] for m in fam]).amax(0).sum())
    r = family_rank(fam, groups.cyclic(4))
    assert r.n == 128 and r.rank_stacked == 2 * 8 * cols and r.member_ranks == [2 * 8 * 2] * g
    assert r.n_transforms == 4 and r.rank_stacked <= r.rank_group <= r.n
    assert r.rank_group > r.rank_stacked  # quarter turns map sampled columns to rows: new directions
    assert family_rank(fam, [lambda x: x]).rank_group == r.rank_stacked
    assert str(r).startswith(f"{g} operators on n = 128")


def test_more_members_never_lower_the_ranks():
    ranks = [family_rank(mri_family(8, g, seed=0), groups.cyclic(4)) for g in (1, 2, 4)]
    assert [r.rank_stacked for r in ranks] == sorted(r.rank_stacked for r in ranks)
    assert [r.rank_group for r in ranks] == sorted(r.rank_group for r in ranks)


def test_family_rank_refuses_a_single_operator():
    with pytest.raises(TypeError, match="expects an equinet.physics.OperatorFamily"):
        family_rank(Inpainting(4))


def test_ct_angle_offsets_stack_to_the_union_of_their_views():
    from equinet.diagnostics import rank_condition
    from equinet.physics import Radon, radon_family
    fam = radon_family(10, 2, views=3, circle=False)
    union = Radon(10, torch.cat([m.angles for m in fam]).tolist(), circle=False)
    r = family_rank(fam)
    assert r.rank_stacked == int(rank_condition(union, [lambda x: x], method="exact").rank_A) > max(r.member_ranks)
