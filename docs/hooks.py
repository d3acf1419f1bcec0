"""MkDocs hook: ship MathJax with the site (no CDN). The self-contained ``tex-svg-full.js`` of the
``django-static-mathjax`` package (MathJax 3.2.2, in docs/requirements.txt) is added to the site as
``js/mathjax/tex-svg-full.js``; mkdocs.yml loads it after ``js/mathjax-config.js``."""
import os

from mkdocs.structure.files import File

TARGET = "js/mathjax/tex-svg-full.js"


def _source() -> str:
    import mathjax  # the django-static-mathjax package
    path = os.path.join(os.path.dirname(mathjax.__file__), "static", "mathjax", "es5", "tex-svg-full.js")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"MathJax not found at {path}: install docs/requirements.txt")
    return path


def on_files(files, config):
    files.append(File.generated(config, TARGET, abs_src_path=_source()))
    return files


# ---------------------------------------------------------------------------------------------------------------
# Docstring examples: a run of ``>>>`` lines (with their ``...`` continuations and printed output, up to the next
# blank line) becomes a fenced ``pycon`` block, so the API reference shows them as code instead of nested quotes.
import re  # noqa: E402

from markdown import Extension  # noqa: E402
from markdown.preprocessors import Preprocessor  # noqa: E402
from mkdocs.plugins import event_priority  # noqa: E402

_PROMPT = re.compile(r"^(\s*)>>> ")


class _DoctestFence(Preprocessor):
    def run(self, lines):
        out, i, fenced = [], 0, False
        while i < len(lines):
            line = lines[i]
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            m = None if fenced else _PROMPT.match(line)
            if not m:
                out.append(line)
                i += 1
                continue
            indent = m.group(1)
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
                i += 1
            if out and out[-1].strip():
                out.append("")
            out += [indent + "```pycon"] + [indent + b for b in block] + [indent + "```", ""]
        return out


class DoctestFenceExtension(Extension):
    def extendMarkdown(self, md):
        md.preprocessors.register(_DoctestFence(md), "doctest_fence", 28)  # before fenced code (25) is stashed


@event_priority(100)  # before mkdocstrings reads the Markdown extensions
def on_config(config):
    config.markdown_extensions.append(DoctestFenceExtension())
    return config
