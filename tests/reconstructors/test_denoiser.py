"""The plug-and-play denoiser: D(x) or D(x, sigma) read from the signature, and its equivariance options (by
design, full averaging over C4/C8/D4, one random element per call)."""
import pytest
import torch

from equinet import groups, testing
from equinet.nets import NetSpec, build
from equinet.nn import GroupAveraged, RandomlyAveraged
from equinet.reconstructors import PnPPGD
from equinet.reconstructors.denoiser import BoundDenoiser, make_denoiser, takes_noise_level

C4 = groups.cyclic(4)


class Sigma(torch.nn.Module):
    def forward(self, x, sigma):
        return x / (1 + sigma ** 2)


class OptionalSigma(torch.nn.Module):
    def forward(self, x, sigma=None):
        return x if sigma is None else 2 * x


def test_the_noise_level_is_read_from_the_signature():
    assert takes_noise_level(Sigma()) and not takes_noise_level(torch.nn.Identity())
    assert takes_noise_level(lambda x, *a: x) and takes_noise_level(max) is None
    x = torch.ones(1, 1, 2, 2)
    assert torch.equal(BoundDenoiser(Sigma(), sigma=1.0)(x), x / 2)
    assert torch.equal(BoundDenoiser(OptionalSigma())(x), x)
    assert torch.equal(BoundDenoiser(OptionalSigma(), sigma=0.1)(x), 2 * x)
    with pytest.raises(TypeError, match=r"the denoiser Sigma is called D\(x, sigma\): give its noise level"):
        BoundDenoiser(Sigma())
    with pytest.raises(TypeError, match=r"is called D\(x\) and takes no noise level, but sigma=0.1"):
        BoundDenoiser(torch.nn.Identity(), sigma=0.1)
    for bad in (-1.0, float("nan"), float("inf"), True, "0.1"):
        with pytest.raises(ValueError, match="sigma .* must be a finite number >= 0 or None"):
            BoundDenoiser(Sigma(), sigma=bad)
    with pytest.raises(TypeError, match="the denoiser must be callable"):
        BoundDenoiser(3)


def _net(group, seed=0):
    torch.manual_seed(seed)
    return build("dncnn", NetSpec(group=group, width=2, depth=3, kernel_size=3, bias=False), residual=True).double()


def test_full_averaging_of_an_equivariant_denoiser_is_the_denoiser():
    D = _net("C4").eval()
    x = torch.randn(2, 1, 13, 13, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for eq in ("full", "random"):
        torch.testing.assert_close(make_denoiser(D, equivariance=eq, group="C4")(x), D(x), rtol=0, atol=1e-6)
    assert make_denoiser(D, equivariance="full", group="C4")(x).sub(D(x)).abs().max() < 1e-12


def test_full_averaging_over_c8_is_exact_on_the_grid_and_close_off_it():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 1, 5, padding=2, bias=False).double()
    D = make_denoiser(conv, equivariance="full", group="C8")
    assert isinstance(D, GroupAveraged) and not D.exact
    report = testing.check_equivariance(D, None, None, groups.cyclic(8), image_size=33, channels=1)
    assert report.max_error(grid=True) < 1e-12  # C4 ⊂ C8 permutes pixels
    assert report.max_error(grid=False) < 1e-4  # 45° turns: band-limited Fourier rotations (6e-6 measured)
    plain = testing.check_equivariance(conv, None, None, groups.cyclic(8), image_size=33, channels=1)
    assert plain.max_error(grid=False) > 10 * report.max_error(grid=False)


def test_random_element_averaging_is_the_full_average_over_all_elements_and_seeded():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 1, 5, padding=2, bias=False).double()
    D4 = groups.dihedral(4)
    rand = make_denoiser(conv, equivariance="random", group=D4, seed=3)
    assert isinstance(rand, RandomlyAveraged)
    x = torch.randn(1, 1, 9, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    full = make_denoiser(conv, equivariance="full", group=D4)(x)
    mean = sum(rand.conjugated(i, x) for i in range(len(D4.elements()))) / 8
    torch.testing.assert_close(mean, full, rtol=0, atol=1e-14)
    seen = {}
    for _ in range(400):
        out = rand(x)
        i = rand.elements.index(rand.last_element)
        assert torch.equal(out, rand.conjugated(i, x))
        seen[i] = seen.get(i, 0) + 1
    assert sorted(seen) == list(range(8)) and all(25 <= n <= 75 for n in seen.values())
    def sequence(seed):
        rand.manual_seed(seed)
        return [(rand(x), rand.last_element) for _ in range(6)]

    first, again = sequence(None), sequence(3)  # None: the construction seed, 3
    assert all(torch.equal(a, b) and g == h for (a, g), (b, h) in zip(first, again))
    assert [g for _, g in sequence(4)] != [g for _, g in first]


def test_solves_with_random_elements_are_reproducible_and_depend_on_the_seed():
    from equinet import physics
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False).double()
    A = physics.Denoising()
    y = torch.rand(1, 1, 10, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    model = PnPPGD(conv, n_iter=6, equivariance="random", seed=0)
    a, b = model(y, A), model(y, A)
    assert torch.equal(a, b)  # each solve restarts the element sequence
    c = PnPPGD(conv, n_iter=6, equivariance="random", seed=1)(y, A)
    assert not torch.equal(a, c)
    with pytest.raises(ValueError, match="equivariance must be one of"):
        make_denoiser(conv, equivariance="avg")
    with pytest.raises(TypeError, match="group must be a group name"):
        make_denoiser(conv, equivariance="full", group=4)
