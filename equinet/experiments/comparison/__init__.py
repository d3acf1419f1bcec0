"""Translation- vs roto-translation-equivariant unrolled reconstruction (Fig. 5 of the imaging paper; Celledoni et
al. 2021, "Equivariant neural networks for inverse problems").

Unrolled proximal gradient descent (`equinet.reconstructors.UnrolledPGD`) is trained with proximal networks that
are ordinary CNNs (translation equivariant, the ``NetSpec.translation_twin`` of the reference network) or
steerable C4/C8 networks on regular fields (roto-translation equivariant), for several training-set sizes, on
sparse-view CT and Cartesian MRI of random ellipse phantoms. Every model is evaluated on held-out phantoms and on
the same held-out phantoms rotated by arbitrary angles (rotated exactly, by rotating the ellipse parameters),
against the FBP / zero-filled (pseudo-inverse) baseline. See ``docs/experiments.md``.

One concern per module: ``config`` (settings), ``data`` (phantoms, test sets, pools), ``operators`` (CT, MRI),
``models`` (specs, unrolled PGD), ``statistics`` (metrics, table rows), ``report`` (Markdown, figures), ``run``
(orchestration through `equinet.experiments.runner`) and ``cli`` (the command line).

Entry points: `run_comparison` (a `ComparisonConfig` -> table rows, files written to ``out``) and
`main` (the command line, also ``python -m equinet compare``).
"""
from .cli import build_parser, config_from_args, main
from .config import LABELS, MODELS, OPERATORS, TEST_SETS, ComparisonConfig, label
from .data import ComparisonData, phantom_params, render_phantoms, rotate_params
from .models import build_model, build_prox_specs
from .operators import build_operator, to_metric_images, to_operator_images
from .report import CSV_FIELDS, markdown_table
from .run import TrainTask, jobs, reconstruct, resolve_workers, run_comparison
from .statistics import image_metrics, paired_difference, summarise

__all__ = ["ComparisonConfig", "run_comparison", "main", "build_parser", "config_from_args", "MODELS", "OPERATORS",
           "TEST_SETS", "LABELS", "label", "phantom_params", "rotate_params", "render_phantoms", "ComparisonData",
           "build_operator", "to_operator_images", "to_metric_images", "build_prox_specs", "build_model",
           "summarise", "image_metrics", "paired_difference", "markdown_table", "CSV_FIELDS", "resolve_workers",
           "jobs", "TrainTask", "reconstruct"]
