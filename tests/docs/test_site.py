"""The built documentation site (``make docs`` writes ``site/``): signatures on every API page, MathJax shipped
with the site and loaded by every page, an executed gallery with figures, user-facing prose only.

CI builds the site first and sets ``EQUINET_SITE=site``, which makes a missing site a failure; in a plain
``make test`` without a built site these tests skip with that reason.
"""
import glob
import html
import os
import re

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SITE = os.environ.get("EQUINET_SITE") or os.path.join(ROOT, "site")
if not os.path.isfile(os.path.join(SITE, "index.html")):
    if os.environ.get("EQUINET_SITE"):
        raise RuntimeError(f"EQUINET_SITE={SITE} has no index.html: build the site first (make docs)")
    pytest.skip("the site is not built (make docs)", allow_module_level=True)

API_PAGES = sorted(glob.glob(os.path.join(SITE, "api", "*", "index.html")))
PAGES = sorted(p for p in glob.glob(os.path.join(SITE, "**", "index.html"), recursive=True)
               if os.sep + "assets" + os.sep not in p)
MATHJAX = "js/mathjax/tex-svg-full.js"
#: words that belong in a lab notebook, not in a library's documentation
LAB_WORDS = re.compile(r"\b(sessions?|engineers?|the issue|this issue|issue\s*#?\d+|items? \d+)\b"
                       r"|(?<![\w/&#])#\d{1,3}\b(?![\w-])", re.IGNORECASE)


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _text(page_html):
    """The visible text of a page's article (no navigation, scripts or code listings)."""
    m = re.search(r"<article[^>]*>(.*)</article>", page_html, re.S)
    body = m.group(1) if m else page_html
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_every_api_page_has_signatures_with_types_and_defaults():
    assert len(API_PAGES) >= 15, API_PAGES
    for page in API_PAGES:
        s = _read(page)
        assert s.count('class="doc-signature') >= 1, f"{page}: no signature"
    # docstring examples ('>>>') are code blocks with prompts, never Markdown quotes ('>' nested three deep)
    with_examples = [p for p in API_PAGES if 'class="gp"' in _read(p)]
    assert len(with_examples) >= 3, f"docstring examples are not rendered as code: {with_examples}"
    quoted = [p for p in API_PAGES if re.search(r"<blockquote>\s*<blockquote>\s*<blockquote>", _read(p))]
    assert not quoted, f"'>>>' rendered as nested quotes on {quoted}"
    losses = _text(_read(os.path.join(SITE, "api", "losses", "index.html")))
    sig = re.search(r"EILoss\s*\(\s*transform[^)]*\)", losses)
    assert sig, "EILoss's signature is not on the losses page"
    flat = re.sub(r"\s+", "", sig.group(0))
    assert "weight:float=1.0" in flat and "noise:bool=False" in flat, sig.group(0)


def test_mathjax_is_shipped_and_loaded_by_every_page():
    js = os.path.join(SITE, *MATHJAX.split("/"))
    assert os.path.getsize(js) > 1_000_000  # the self-contained MathJax build, not a stub
    for page in PAGES:
        s = _read(page)
        assert MATHJAX in s and "mathjax-config.js" in s, page
        assert not re.search(r"<script[^>]+src=\"https?://", s), f"{page} loads a script from the network"
    maths = [p for p in PAGES if 'class="arithmatex"' in _read(p)]
    assert len(maths) >= 3, "arithmatex produced no math for MathJax to render"


def test_gallery_examples_ran_and_made_figures():
    examples = sorted(glob.glob(os.path.join(SITE, "generated", "gallery", "plot_*", "index.html")))
    assert len(examples) >= 6, examples
    for page in examples:
        s = _read(page)
        images = re.findall(r"<img[^>]+src=\"([^\"]+\.png)\"", s)
        assert images, f"{page}: no figure"
        for src in images:
            assert os.path.getsize(os.path.normpath(os.path.join(os.path.dirname(page), src))) > 5000, src
        assert "glightbox" in s, f"{page}: figures do not open full size on click"
    index = _read(os.path.join(SITE, "generated", "gallery", "index.html"))
    assert len(re.findall(r"plot_\d_", index)) >= 6


def test_no_page_reads_as_a_lab_notebook():
    found = []
    for page in PAGES:
        for m in LAB_WORDS.finditer(_text(_read(page))):
            found.append(f"{os.path.relpath(page, SITE)}: ...{m.group(0)}...")
    assert not found, "\n".join(found[:40])
