"""``compare --backend escnn|e2cnn``: the same unrolled PGD with the reference library's proximal networks."""
import csv
import os
import sys

import pytest

from equinet.experiments.comparison import main
from equinet.utils.cli import UsageError

TINY = ["--quick", "--image-size", "16", "--steps", "2", "--train-sizes", "2", "--n-test", "2",
        "--batch-size", "2", "--n-iter", "2", "--depth", "2", "--width", "1", "--models", "pinv,cnn,c4,c8",
        "--operators", "ct", "--device", "cpu", "--no-progress", "--seed", "1", "--workers", "1"]


def _params(out):
    with open(os.path.join(out, "table.csv")) as f:
        return {(r["model"], r["test_set"]): int(r["params"]) for r in csv.DictReader(f)}


@pytest.mark.parametrize("library", ["escnn", "e2cnn"])
def test_library_backend_builds_the_same_architecture(tmp_path, library):
    pytest.importorskip(library, reason=f"{library} is the reference extra (pip install -e '.[escnn]')")
    ours, theirs = str(tmp_path / "equinet"), str(tmp_path / library)
    main(TINY + ["--out", ours])
    main(TINY + ["--out", theirs, "--backend", library])
    assert _params(ours) == _params(theirs)  # same group, widths, depth, kernel: the same parameter count
    with open(os.path.join(theirs, "table.csv")) as f:
        assert all(float(r["psnr_mean"]) > 10 for r in csv.DictReader(f))


def test_missing_backend_library_is_refused_in_one_line_before_training(tmp_path, monkeypatch, capsys):
    for name in ("escnn", "escnn.gspaces", "escnn.nn", "escnn.group"):
        monkeypatch.setitem(sys.modules, name, None)  # simulate an install without the reference extra
    out = tmp_path / "out"
    with pytest.raises(UsageError) as info:
        main(TINY + ["--out", str(out), "--backend", "escnn"])
    err = str(info.value)
    assert "needs escnn" in err and 'pip install -e ".[escnn]"' in err
    assert not out.exists() or not any(out.iterdir())


def test_backend_needs_dncnn(tmp_path):
    with pytest.raises(UsageError, match="DnCNN"):
        main(TINY + ["--out", str(tmp_path), "--backend", "escnn", "--net", "unet"])
