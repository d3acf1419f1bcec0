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
