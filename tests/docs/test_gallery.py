"""The docs gallery's examples: named for mkdocs-gallery, titled, compilable. The strict site build (``make docs``,
CI stage 3) executes every one of them and fails on the first error (``abort_on_example_error``); the test of the
built site (`test_site.py`) then checks that each produced its figures. They are not run a second time here."""
import ast
import glob
import os

GALLERY = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "gallery")
EXAMPLES = sorted(glob.glob(os.path.join(GALLERY, "plot_*.py")))
TOPICS = ("equivariant_layer", "unrolled_pgd", "ei_measurements_only", "identifiability",
          "translation_vs_rototranslation", "save_load")


def test_gallery_has_the_six_examples():
    names = [os.path.basename(p) for p in EXAMPLES]
    assert len(names) >= 6, names
    for topic in TOPICS:
        assert any(topic in n for n in names), topic
    assert sorted(glob.glob(os.path.join(GALLERY, "*.py"))) == EXAMPLES, "gallery scripts must be named plot_*.py"
    assert os.path.isfile(os.path.join(GALLERY, "README.md")), "mkdocs-gallery needs the gallery's README.md"


def test_every_example_is_titled_and_compiles():
    for path in EXAMPLES:
        source = open(path, encoding="utf-8").read()
        tree = ast.parse(source, path)
        doc = ast.get_docstring(tree, clean=False)
        assert doc and doc.lstrip("\n").startswith("# "), f"{path}: the docstring opens with a '# Title' line"
        compile(source, path, "exec")
        assert "plt." in source or "reconstruction_grid(None" in source, f"{path}: an example draws a figure"
