"""Every example of the docs gallery runs (and its own assertions hold)."""
import glob
import os
import runpy

import pytest

GALLERY = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "gallery")
EXAMPLES = sorted(glob.glob(os.path.join(GALLERY, "*.py")))


def test_gallery_is_not_empty():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=[os.path.basename(p) for p in EXAMPLES])
def test_gallery_example_runs(path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    runpy.run_path(path, run_name="__main__")
    assert capsys.readouterr().out.strip(), "an example should show its result"


def test_every_example_is_on_the_gallery_page():
    page = open(os.path.join(GALLERY, "..", "gallery.md")).read()
    for path in EXAMPLES:
        assert f'"gallery/{os.path.basename(path)}"' in page, path
