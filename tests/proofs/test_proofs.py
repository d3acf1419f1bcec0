"""Every proof script verifies its claim and sees its controls fail (each script is its own test); the harness
itself reports a passing control or a failing check as a failure."""
import os
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
sys.path.insert(0, ROOT)

from proofs.__main__ import HERE, SCRIPTS, run_script, table  # noqa: E402


@pytest.mark.parametrize("num,script,args", SCRIPTS, ids=[s for _, s, _ in SCRIPTS])
def test_proof_script(num, script, args):
    status, claim, _, out = run_script(script, args, quiet=True)
    assert status == 0, out
    assert "claim verified" in out
    assert claim is not None and claim.number == num
    assert any(r[0] == "control" for r in claim.rows), "a claim needs a control case"
    assert "| PASS |" in table([(num, script, status, claim, 0.0)])


def test_harness_fails_when_a_control_passes_or_a_check_fails():
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    from _common import Claim
    c = Claim(0, "harness self-test", "none")
    c.check("holds", 1e-16, 1e-12)
    c.control("should fail but passes", 1e-16, 1e-12)
    assert c.finish() == 1
    c = Claim(0, "harness self-test", "none")
    c.check("fails", 1.0, 1e-12)
    c.control("fails as predicted", 1.0, 1e-12)
    assert c.finish() == 1
    c = Claim(0, "harness self-test", "none")
    c.check("holds", 0.0, 1e-12)
    assert c.finish() == 1  # no control: not verified
    c = Claim(0, "harness self-test", "none")
    c.check("holds", 0.0, 1e-12)
    c.control("fails as predicted", float("nan"), 1e-12)
    assert c.finish() == 0
