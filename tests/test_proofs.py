"""The executable proofs in proofs/ must verify their claims (and see their control cases fail)."""
import os
import runpy
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "proofs")


@pytest.mark.parametrize("script,args", [("prox_of_invariant_regulariser.py", ["--size", "16", "--iters", "1500"])])
def test_proof_script(script, args, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [script] + args)
    mod = runpy.run_path(os.path.join(ROOT, script))
    assert mod["main"](args) == 0
    assert "claim verified" in capsys.readouterr().out
