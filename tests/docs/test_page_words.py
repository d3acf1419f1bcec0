"""The README and the docs sources are written for users: no words of a lab notebook (sessions, engineers, issue
numbers, "item 7" of a work list). The built site is checked the same way in tests/docs/test_site.py."""
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: the same rule as tests/docs/test_site.py's LAB_WORDS
LAB_WORDS = re.compile(r"\b(sessions?|engineers?|the issue|this issue|issue\s*#?\d+|items? \d+)\b"
                       r"|(?<![\w/&#])#\d{1,3}\b(?![\w-])", re.IGNORECASE)


def test_sources_have_no_lab_notebook_words():
    hits = []
    for p in [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))):
        with open(p, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                hits += [f"{os.path.relpath(p, ROOT)}:{i}: {m.group(0)!r}" for m in LAB_WORDS.finditer(line)]
    assert not hits, "\n".join(hits)


def test_the_rule_catches_what_it_is_for():
    for text in ("**#12 item 1, closing note**", "Real images (item 7)", "as this session measured", "see #18"):
        assert LAB_WORDS.search(text), text
    for text in ("colour #1f77b4", "[page](a.md#section-2)", "&#123;", "C8 and D4", "50 items of data"):
        assert not LAB_WORDS.search(text), text
