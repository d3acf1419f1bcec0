"""Typed activation options: validation, defaults of the bypass, tables, and the deprecated strings."""
import warnings

import pytest

from equinet.nets import Activation, AliasFree, NetSpec


def test_bypass_default_and_validation():
    assert Activation("relu", "quincunx").bypass is True
    assert Activation("softplus", "quincunx").bypass is False
    assert Activation("relu", "radial").bypass is False
    with pytest.raises(ValueError, match="bypass=True needs alias_free='quincunx'"):
        Activation("relu", "radial", bypass=True)
    with pytest.raises(ValueError, match="bypass=True needs .* function in"):
        Activation("elu", "quincunx", bypass=True)
    with pytest.raises(TypeError, match="bypass must be True, False or None"):
        Activation("relu", "quincunx", bypass=1)
    with pytest.raises(ValueError, match=r"alias_free must be one of \('none', 'radial', 'quincunx'\), got 'aa'"):
        Activation("relu", "aa")
    with pytest.raises(ValueError, match="deprecated form of"):
        Activation("relu_aa")


def test_equality_with_names_and_tables():
    assert Activation("elu") == "elu" and {Activation("elu")} == {"elu"}
    assert Activation("relu", AliasFree.RADIAL) != "relu"
    assert Activation.parse({"function": "leaky_relu", "alias_free": "quincunx"}) == \
        Activation("leaky_relu", "quincunx", True)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['kind'\]"):
        Activation.parse({"kind": "relu"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the typed forms never warn
        assert NetSpec(activation={"function": "relu", "alias_free": "radial"}).activation.alias_free is \
            AliasFree.RADIAL
        assert str(NetSpec(activation=Activation("relu", "quincunx")).activation) == \
            "relu (alias-free, quincunx, bypass)"
