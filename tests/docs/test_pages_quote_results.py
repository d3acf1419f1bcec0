"""The README and the docs pages quote the committed converged results files through generated blocks that are up
to date (regenerate with ``python -m equinet.experiments.reproduce.results_pages README.md docs/*.md``)."""
import glob
import os

import pytest

from equinet.experiments.reproduce.results_pages import sync_page

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGES = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))


@pytest.mark.parametrize("page", PAGES, ids=[os.path.relpath(p, ROOT) for p in PAGES])
def test_results_blocks_are_up_to_date(page):
    changed, _ = sync_page(page, root=ROOT, check=True)
    assert not changed, f"{os.path.relpath(page, ROOT)} quotes results files that changed: regenerate its blocks"


def test_every_committed_results_file_is_quoted_by_a_page_and_the_readme():
    """Every results file is quoted by a docs page; the tables' files (not the recipe studies in sub-folders) by the
    README's headline too."""
    files = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "results", "**", "*.json"),
                                                               recursive=True))
    quoted = {p: set(sync_page(p, root=ROOT, check=True)[1]) for p in PAGES}
    for f in files:
        assert any(f in q for p, q in quoted.items() if not p.endswith("README.md")), f"no docs page quotes {f}"
        if os.path.dirname(f) == os.path.join("docs", "results"):
            assert f in quoted[PAGES[0]], f"the README's headline does not quote {f}"
