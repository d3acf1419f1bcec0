"""equinet.interop without escnn/e2cnn: the package imports, and every entry point says what to install.

Runs in the core environment too: absence is simulated by blocking the imports (``sys.modules[name] = None``)."""
import importlib
import sys

import pytest
from torch import nn

import equinet
import equinet.interop as interop
from equinet import groups
from equinet.nets import NetSpec
from equinet.nn import FieldType

BLOCKED = [f"{lib}{sub}" for lib in ("escnn", "e2cnn") for sub in ("", ".gspaces", ".nn", ".group")]


@pytest.fixture
def libraries_absent(monkeypatch):
    for name in BLOCKED:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("library", ["escnn", "e2cnn"])
def test_missing_library_error_is_one_line_naming_the_install_command(libraries_absent, library):
    calls = [lambda: interop.to_escnn(FieldType.trivial(groups.cyclic(4)), library=library),
             lambda: interop.gspace_for(groups.dihedral(4), library),
             lambda: interop.build_escnn("dncnn", NetSpec("C4", width=1, depth=2, kernel_size=3), library=library),
             lambda: interop.require(library)]
    for call in calls:
        with pytest.raises(interop.MissingLibraryError) as info:
            call()
        msg = str(info.value)
        assert isinstance(info.value, ImportError)
        assert "\n" not in msg
        assert f"needs {library}" in msg and 'pip install -e ".[escnn]"' in msg and "gfortran" in msg


def test_package_imports_without_the_libraries(libraries_absent, monkeypatch):
    """A fresh import of equinet.interop with escnn/e2cnn blocked (any import of them would raise) succeeds."""
    for name in [m for m in sys.modules if m == "equinet.interop" or m.startswith("equinet.interop.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(equinet, "interop", interop)  # restored afterwards, with the modules above
    fresh = importlib.import_module("equinet.interop")
    assert fresh is not interop and callable(fresh.build_escnn)


def test_bad_arguments_are_refused_before_importing_anything(libraries_absent):
    with pytest.raises(ValueError, match="library must be one of"):
        interop.require("e3nn")
    with pytest.raises(TypeError, match="escnn or e2cnn EquivariantModule"):
        interop.wrap(nn.Conv2d(1, 1, 3))
    with pytest.raises(TypeError, match="equinet FieldType"):
        interop.to_escnn([groups.cyclic(4).trivial])
    with pytest.raises(TypeError, match="escnn or e2cnn nn.FieldType"):
        interop.from_escnn(FieldType.trivial(groups.cyclic(4)))
    with pytest.raises(TypeError, match="PlanarGroup"):
        interop.gspace_for("C4")
