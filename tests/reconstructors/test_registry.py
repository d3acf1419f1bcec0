"""The reconstructors' one home: the registry, and the old import paths that still resolve to the same classes."""
import pytest

from equinet.reconstructors import RECONSTRUCTORS, RED, PinvReconstructor, PnPADMM, PnPPGD, UnrolledPGD


def test_registry_names_the_reconstructors():
    assert RECONSTRUCTORS.names() == ("reconstructor", "pnp_pgd", "pnp_admm", "red", "unrolled_pgd")
    assert RECONSTRUCTORS.get("reconstructor") is PinvReconstructor
    assert RECONSTRUCTORS.get("unrolled_pgd") is UnrolledPGD
    assert (RECONSTRUCTORS.get("pnp_pgd"), RECONSTRUCTORS.get("pnp_admm"), RECONSTRUCTORS.get("red")) == \
        (PnPPGD, PnPADMM, RED)
    with pytest.raises(ValueError, match=r"unknown reconstructor 'pnp'; expected one of 'reconstructor', "):
        RECONSTRUCTORS.get("pnp")


def test_old_import_paths_are_the_same_classes():
    from equinet import nets, unrolled
    from equinet.nets.reconstructor import PinvReconstructor as old_pinv
    from equinet.unrolled.pgd import UnrolledPGD as old_pgd
    assert old_pinv is PinvReconstructor and nets.PinvReconstructor is PinvReconstructor
    assert old_pgd is UnrolledPGD and unrolled.UnrolledPGD is UnrolledPGD
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        nets.Nope  # noqa: B018
