"""equinet.testing: the checks fail on non-equivariant modules and pass on equivariant ones, at measured
tolerances; protocol floors; scaling and system equivariance; reports; module handling; bad input."""
import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from equinet import groups
from equinet.nn import FieldType, SteerableConv2d
from equinet.testing import (EquivarianceReport, assert_equivariant, assert_invariant, assert_scaling_equivariant,
                             assert_system_equivariant, check_equivariance, check_invariance,
                             check_scaling_equivariance, check_system_equivariance)
from equinet.testing import _fields as fld

C4, C8, D4 = groups.cyclic(4), groups.cyclic(8), groups.dihedral(4)
SO2, O2 = groups.so2(4), groups.o2(4)
# off-grid tolerance for single steerable layers, k = 5 (docs/testing.md: 45° errors measured over 12 random
# initialisations on sizes 32 and 33: lifting 1.1e-3..4.3e-3, group conv 1.1e-3..1.8e-3)
OFFGRID_STEERABLE = 1e-2


def symmetrised_conv(c_in, c_out, k, seed=0, bias=True):
    """nn.Conv2d whose kernels are averaged over the 8 elements of D4 with exact actions (hence D4-invariant)."""
    torch.manual_seed(seed)
    conv = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=bias)
    with torch.no_grad():  # average in float64: float32 sums in orbit-dependent orders would differ by ~1e-7
        w = conv.weight.detach().double()
        conv.weight.copy_(sum(groups.act(g, w) for g in D4.elements()) / 8)
    return conv


class GroupMaxPool(nn.Module):
    """Max over the |G| channels of each regular field: regular fields -> scalar (invariant) fields."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        B, C, H, W = x.shape
        return x.view(B, C // self.n, self.n, H, W).amax(2)


class SpatialMean(nn.Module):
    def forward(self, x):
        return x.mean(dim=(-2, -1))


# ----------------------------------------------------------------------------------------------- the harness itself
@pytest.mark.parametrize("size", [32, 33])
def test_analytic_input_rotates_like_the_exact_action(size):
    rep = D4.regular + D4.irrep(1, 1)
    field = fld.BlobField(2, rep.size, size, seed=3)
    u = field.sample()
    for g in D4.elements():
        torch.testing.assert_close(field.sample(g, rep), groups.act(g, u, rep), rtol=0, atol=1e-12)


def test_protocol_floor_on_exactly_equivariant_maps():
    """Identity and an affine pointwise map are exactly equivariant: off-grid rows measure the protocol alone."""
    els = [O2.element(math.radians(a), f) for f in (False, True) for a in (45.0, 30.0, 10.0, 130.0)]
    for f in (lambda x: x, lambda x: 2.0 * x + 1.0):
        rep = check_equivariance(f, None, None, els, channels=2, image_size=(32, 33))
        assert rep.max_error(grid=False) < 2e-5  # measured 2.6e-6 .. 3.3e-6
    # the same maps fail when read on the full image, where the border has no rotated counterpart
    full = check_equivariance(lambda x: x + 1.0, None, None, els[:1], channels=1, region="full")
    assert full.max_error() > 0.1


def test_rotation_direction_and_flips_matter():
    """f = rotation by 90° commutes with rotations but not with the flips."""
    f = lambda x: torch.rot90(x, 1, dims=(-2, -1))  # noqa: E731
    assert_equivariant(f, None, None, C4, channels=1, atol=1e-12)
    report = check_equivariance(f, None, None, D4, channels=1)
    assert all((r.rel_error > 0.5) == bool(r.reflection) for r in report.rows)


# ----------------------------------------------------------------------------------------------- plain convolutions
def test_random_conv2d_fails_for_c4():
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 3, 3, padding=1)
    with pytest.raises(AssertionError, match=r"Conv2d is not equivariant: 3 of 4 checks exceed") as err:
        assert_equivariant(conv, None, None, C4, atol=1e-5)
    assert "C4[rot(90°)]" in str(err.value) and "FAIL" in str(err.value)
    report = check_equivariance(conv, None, None, C4)
    assert report.rows[0].rel_error == 0.0 and min(r.rel_error for r in report.rows[1:]) > 0.3


def test_symmetrised_conv2d_passes_for_d4_on_even_and_odd_sizes():
    conv = symmetrised_conv(2, 3, 5)
    report = assert_equivariant(conv, None, None, D4, atol=1e-6, image_size=(32, 33))
    assert [r.size for r in report.rows] == [32] * 8 + [33] * 8
    assert report.max_error() < 1e-13  # float64 copy: pure rounding


def test_symmetrised_conv2d_with_representations_and_the_wrong_group_element_order():
    """Trivial -> sign (irrep(1, 0)) needs a kernel that flips sign under the flip: the symmetric one fails."""
    conv = symmetrised_conv(1, 1, 3)
    with pytest.raises(AssertionError, match="4 of 8 checks"):
        assert_equivariant(conv, D4.trivial, D4.irrep(1, 0), atol=1e-6)


# ----------------------------------------------------------------------------------------------- steerable layers
@pytest.fixture(scope="module")
def c8_layers():
    T, R = FieldType.trivial(C8, 1), FieldType.regular(C8, 2)
    torch.manual_seed(0)
    return {"lifting": SteerableConv2d(T, R, kernel_size=5), "group": SteerableConv2d(R, R, kernel_size=5),
            "relu_net": nn.Sequential(SteerableConv2d(T, R, 5), nn.ReLU(), SteerableConv2d(R, R, 5)),
            "T": T, "R": R}


@pytest.mark.parametrize("name", ["lifting", "group"])
def test_steerable_conv_c8_grid_exact_and_offgrid_measured(c8_layers, name):
    layer = c8_layers[name]
    report = assert_equivariant(layer, layer.in_type, layer.out_type, atol=1e-5, offgrid_atol=OFFGRID_STEERABLE,
                                image_size=(32, 33))
    assert report.max_error(grid=True) < 1e-13
    off = [r for r in report.rows if not r.grid]
    assert len(off) == 8 and {r.angle for r in off} == {45.0, 135.0, 225.0, 315.0}
    assert all(r.input == "smooth" and r.region.startswith("disk") for r in off)
    assert 5e-4 < report.max_error(grid=False) < OFFGRID_STEERABLE  # not vacuous: sampled kernels are not exact


def test_relu_network_offgrid_versus_plain_cnn(c8_layers):
    """Equivariant ReLU network: exact on the grid, a few % at 45° (mostly the protocol's floor for kinked outputs,
    docs/testing.md); a plain CNN is O(1) off at every rotation."""
    T, R = c8_layers["T"], c8_layers["R"]
    net = assert_equivariant(c8_layers["relu_net"], T, R, atol=1e-5, offgrid_atol=0.1)
    assert net.max_error(grid=False) > 5e-3
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.Conv2d(16, 16, 5, padding=2))
    plain = check_equivariance(cnn, None, None, C8)
    assert plain.max_error(grid=True) > 0.3 and min(r.rel_error for r in plain.rows if not r.grid) > 0.3


def test_continuous_group_default_elements():
    conv = SteerableConv2d(FieldType.trivial(SO2, 1), FieldType(SO2, [SO2.irrep(1), SO2.irrep(2)]), kernel_size=5)
    report = check_equivariance(conv, conv.in_type, conv.out_type, image_size=33)
    assert [r.angle for r in report.rows] == pytest.approx([45.0 * k for k in range(8)])
    assert report.max_error(grid=True) < 1e-13
    assert 1e-4 < report.max_error(grid=False) < OFFGRID_STEERABLE  # measured 4.6e-3


def test_even_kernel_output_grows_by_one_pixel(c8_layers):
    R = c8_layers["R"]
    torch.manual_seed(0)
    conv = SteerableConv2d(R, R, kernel_size=4)
    report = assert_equivariant(conv, R, R, atol=1e-5, offgrid_atol=OFFGRID_STEERABLE, image_size=(32, 33))
    assert report.rows[1].region == "disk r<=11.55, w" and report.rows[9].region == "disk r<=11.9, w"  # 33², 34²
    assert report.max_error(grid=True) < 1e-13 and report.max_error(grid=False) > 5e-4  # measured 2.2e-3


# ----------------------------------------------------------------------------------------------- invariance
def test_invariance_of_fields_and_vectors(c8_layers):
    lift = c8_layers["lifting"]
    pooled = nn.Sequential(lift, GroupMaxPool(8))
    field = assert_invariant(pooled, lift.in_type, atol=1e-5, offgrid_atol=0.1, image_size=(32, 33))
    assert field.rows[0].region == "full" and field.info["out_type"] == "trivial on every channel"
    vector = assert_invariant(nn.Sequential(pooled, SpatialMean()), lift.in_type, atol=1e-5, offgrid_atol=5e-3)
    assert vector.info["out_type"].startswith("invariant vector") and vector.rows[1].region == "all"
    assert vector.max_error(grid=False) > 1e-5
    # without the group pooling the channels still permute: not invariant
    with pytest.raises(AssertionError, match="is not invariant"):
        assert_invariant(lift, lift.in_type, output="field")


def test_invariance_vector_mode_fails_for_non_invariant_readout():
    torch.manual_seed(1)
    readout = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.AdaptiveMaxPool2d(1), nn.Flatten())
    report = check_invariance(readout, None, D4, channels=1)
    assert report.max_error(grid=True) > 1e-2
    sym = nn.Sequential(symmetrised_conv(1, 4, 3), nn.AdaptiveMaxPool2d(1), nn.Flatten())
    assert_invariant(sym, None, D4, atol=1e-12, channels=1, output="vector")


# ----------------------------------------------------------------------------------------------- scaling
def _mlp_cnn(bias, act=nn.ReLU):
    torch.manual_seed(2)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=bias), act(), nn.Conv2d(8, 1, 3, padding=1, bias=bias))


def test_scaling_bias_free_passes_biased_fails():
    assert check_scaling_equivariance(_mlp_cnn(False)).max_error() < 1e-13
    assert_scaling_equivariant(_mlp_cnn(False, nn.LeakyReLU), atol=1e-12, image_size=(16, 17))
    with pytest.raises(AssertionError, match="not scaling-equivariant: 4 of 4 checks"):
        assert_scaling_equivariant(_mlp_cnn(True))
    report = check_scaling_equivariance(_mlp_cnn(True), scales=[1.0, 3.0])
    assert report.rows[0].rel_error == 0.0 and report.rows[1].rel_error > 1e-2
    assert report.rows[1].element == 3.0 and report.rows[1].angle is None


def test_scaling_with_given_input_and_bad_scales():
    x = torch.randn(1, 1, 9, 9, generator=torch.Generator().manual_seed(0))
    report = check_scaling_equivariance(_mlp_cnn(False), x=x, scales=[0.25])
    assert report.rows[0].input == "given" and report.rows[0].size is None
    for bad in ([0.0], [-1.0], [float("inf")], []):
        with pytest.raises(ValueError, match="scales"):
            check_scaling_equivariance(_mlp_cnn(False), scales=bad)


# ----------------------------------------------------------------------------------------------- system equivariance
def test_system_inpainting_mask_fails_identity_passes():
    mask = (torch.rand(1, 1, 33, 33, generator=torch.Generator().manual_seed(0)) > 0.5).double()
    identity = lambda u: u  # noqa: E731
    with pytest.raises(AssertionError, match="not system-equivariant"):
        assert_system_equivariant(identity, lambda u: u * mask, elements=D4)
    report = check_system_equivariance(identity, lambda u: u * mask, elements=D4)
    assert min(r.rel_error for r in report.rows[1:]) > 0.3
    ok = assert_system_equivariant(identity, identity, elements=D4, atol=0.0)
    assert ok.max_error() == 0.0


def test_system_blur_is_equivariant_and_offgrid_uses_the_protocol():
    blur = symmetrised_conv(1, 1, 5, bias=False)
    assert_system_equivariant(lambda u: u, blur, elements=D4, atol=1e-12, image_size=(32, 33))
    els = [SO2.element(math.radians(a)) for a in (0.0, 45.0, 90.0)]
    report = assert_system_equivariant(lambda u: u, lambda u: u, elements=els, atol=1e-12, offgrid_atol=2e-5)
    assert [r.input for r in report.rows] == ["random", "smooth", "random"]


def test_system_with_given_x_and_custom_translations():
    x = torch.randn(2, 1, 20, 20, generator=torch.Generator().manual_seed(1))
    report = check_system_equivariance(lambda u: u, lambda u: u.flip(-1), x, D4)
    assert {r.input for r in report.rows} == {"given"} and {r.size for r in report.rows} == {20}
    assert report.rows[0].rel_error == 0.0 and report.max_error() > 0.5  # a left-right flip is not a rotation
    shift = lambda s, u: torch.roll(u, s, dims=(-2, -1))  # noqa: E731
    k = torch.rand(1, 1, 3, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    circ_blur = lambda u: F.conv2d(F.pad(u, (1, 1, 1, 1), mode="circular"), k)  # noqa: E731
    shifts = [(1, 0), (3, -2)]
    report = assert_system_equivariant(lambda u: 2 * u, circ_blur, elements=shifts, transform=shift, atol=1e-12)
    assert report.rows[0].element == (1, 0) and report.rows[0].grid and report.rows[0].angle is None
    with pytest.raises(AssertionError, match="2 of 2 checks"):
        ramp = torch.linspace(0, 1, 33, dtype=torch.float64)
        assert_system_equivariant(lambda u: u, lambda u: u * (ramp[:, None] + ramp), elements=shifts, transform=shift)


def test_system_bad_input():
    with pytest.raises(TypeError, match=r"f \(the reconstruction\) must be callable"):
        check_system_equivariance(3.0, lambda u: u, elements=C4)
    with pytest.raises(TypeError, match=r"A \(the forward operator\) must be callable"):
        check_system_equivariance(lambda u: u, "mask", elements=C4)
    with pytest.raises(ValueError, match="rep .* has size 8 but the images have 1 channels"):
        check_system_equivariance(lambda u: u, lambda u: u, elements=C8, rep=C8.regular)
    with pytest.raises(ValueError, match="needs a group"):
        check_system_equivariance(lambda u: u, lambda u: u)
    with pytest.raises(ValueError, match="custom transform needs its elements"):
        check_system_equivariance(lambda u: u, lambda u: u, transform=lambda e, u: u)


# ----------------------------------------------------------------------------------------------- reports
def test_report_table_dict_and_max_errors():
    conv = symmetrised_conv(1, 1, 3)
    report = check_equivariance(conv, None, None, C4, image_size=9)
    assert isinstance(report, EquivarianceReport)
    text = str(report)
    for word in ("element", "angle°", "rel. error", "max abs. error", "C4[rot(270°)]", "protocol:", "float64"):
        assert word in text
    assert "status" not in text
    d = report.to_dict()
    json.dumps(d)
    assert len(d["rows"]) == 4 and d["rows"][1]["angle_deg"] == 90.0 and d["max_error_offgrid"] is None
    assert report.max_error(grid=False) is None and report.max_error() == report.max_error(grid=True)
    mixed = check_equivariance(conv, None, None, [SO2.element(0.0), SO2.element(0.3)], image_size=17)
    assert mixed.failures(1e-5) == [] and mixed.failures(1e-5, 1e-9) == [mixed.rows[1]]
    rows = [line for line in mixed.format(atol=1e-5).splitlines() if line.startswith("SO(2)[rot(")]
    assert rows[0].endswith(" ok") and rows[1].endswith(" -")  # the off-grid row is unchecked without offgrid_atol


def test_nan_output_fails():
    with pytest.raises(AssertionError, match="worst relative error nan"):
        assert_equivariant(lambda x: x * float("nan"), None, None, C4, channels=1)


# ----------------------------------------------------------------------------------------------- module handling
def test_eval_mode_float64_copy_and_restored_flags():
    conv = symmetrised_conv(1, 2, 3)
    model = nn.Sequential(conv, nn.Dropout(0.5), nn.BatchNorm2d(2))
    model.train()
    model[2].eval()
    report = assert_equivariant(model, None, None, D4, atol=1e-12)  # dropout would break it in train mode
    assert report.info["dtype"] == torch.float64
    assert [m.training for m in model.modules()] == [True, True, True, False]
    assert conv.weight.dtype == torch.float32
    as_is = assert_equivariant(model, None, None, D4, atol=1e-5, dtype=None)
    assert as_is.info["dtype"] == torch.float32
    assert [m.training for m in model.modules()] == [True, True, True, False]


def test_modules_refusing_float64_are_checked_as_they_are():
    class Float32Only(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = symmetrised_conv(1, 1, 3)

        def forward(self, x):
            if x.dtype != torch.float32:
                raise TypeError("float32 only")
            return self.conv(x)

    report = assert_equivariant(Float32Only(), None, None, C4, atol=1e-5, channels=1)
    assert report.info["dtype"] == torch.float32 and "float32 only" in report.info["note 1"]


# ----------------------------------------------------------------------------------------------- bad input
def test_bad_input_errors(c8_layers):
    conv = nn.Conv2d(1, 4, 3, padding=1)
    with pytest.raises(ValueError, match=r"in_type FieldType\(C4: regular; 4 channels\) has 4 channels but the "
                                         r"module expects 1 input channels"):
        check_equivariance(conv, FieldType.regular(C4, 1), None)
    lift, R = c8_layers["lifting"], c8_layers["R"]
    with pytest.raises(ValueError, match=r"returned 16 channels but out_type FieldType\(C8: regular; 8 channels\)"):
        check_equivariance(nn.Sequential(lift), lift.in_type, FieldType.regular(C8, 1))
    with pytest.raises(ValueError, match="differs from the module's declared out_type"):
        check_equivariance(lift, lift.in_type, FieldType.regular(C8, 1))
    with pytest.raises(ValueError, match="differs from the module's declared in_type"):
        check_equivariance(lift, R, R)
    with pytest.raises(ValueError, match=r"is of C4, but the field types are of C8"):
        check_equivariance(lift, lift.in_type, lift.out_type, C4.elements())
    with pytest.raises(ValueError, match="share a group"):
        check_equivariance(lift, lift.in_type, FieldType.regular(D4, 2))
    with pytest.raises(ValueError, match="but the other elements are of C4"):
        check_equivariance(conv, None, None, [C4.element(steps=1), D4.element(steps=1)])
    with pytest.raises(TypeError, match="must be equinet group elements"):
        check_equivariance(conv, None, None, [0.5])
    with pytest.raises(ValueError, match="needs a group"):
        check_equivariance(conv, None, None)
    with pytest.raises(ValueError, match="input='random' cannot be rotated"):
        check_equivariance(lift, lift.in_type, lift.out_type, input="random")
    with pytest.raises(ValueError, match="pass channels="):
        check_equivariance(lambda x: x, None, None, C4)
    with pytest.raises(ValueError, match="needs a square image"):
        check_equivariance(lambda x: x[..., 1:], None, None, C4, channels=1)
    with pytest.raises(TypeError, match="module must be callable"):
        check_equivariance("conv", None, None, C4, channels=1)
    with pytest.raises(TypeError, match="in_type must be an equinet.nn.FieldType"):
        check_equivariance(conv, 1, None, C4)
    for kw, match in (({"image_size": 0}, "image_size"), ({"method": "exact"}, "method"),
                      ({"region": "square"}, "region"), ({"input": "noise"}, "input"), ({"batch": 0}, "batch")):
        with pytest.raises(ValueError, match=match):
            check_equivariance(conv, None, None, C4, **kw)
