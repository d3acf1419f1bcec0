"""The method-table engine: few-image jobs train on the first k items of a problem (their own run folder), and a
problem's models do not depend on which other problems run beside it (its own seed index and steps)."""
import json

import pytest
import torch

pytest.importorskip("skimage")

from equinet.experiments.reproduce.ei_table1 import EITable1Config, run_ei_table1  # noqa: E402
from equinet.experiments.reproduce.engine import Problem, few_images  # noqa: E402
from equinet.physics import Inpainting  # noqa: E402
from equinet.transforms import Shift  # noqa: E402


def _problem(n=5):
    A = Inpainting(8, drop=0.3, seed=0)
    x = torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    return Problem(A, Shift(image_size=8), 1.0, x, A(x), {"test": (x[:2], A(x[:2]))},
                   operators={"train": torch.arange(n), "test": torch.zeros(2, dtype=torch.long)})


def test_first_k_items_and_few_image_jobs():
    p = _problem()
    q = p.first(3)
    assert torch.equal(q.x_train, p.x_train[:3]) and torch.equal(q.y_train, p.y_train[:3])
    assert torch.equal(q.operators["train"], torch.arange(3)) and q.operators["test"] is p.operators["test"]
    assert q.tests is p.tests and len(p.x_train) == 5  # the original is untouched
    assert few_images(("a", "sup"), p) is None and few_images(("a", "sup", 5), p) is None
    assert few_images(("a", "sup", 2), p) == 2


def test_a_problems_models_do_not_depend_on_the_other_problems(tmp_path):
    tiny = dict(image_size=16, width=2, scales=1, steps=2, steps_ct=3, n_train=4, n_test=2, workers=1, batch_size=2,
                methods=("pinv", "sup"), n_few=0)
    run_ei_table1(EITable1Config.quick(**tiny), str(tmp_path / "both"), progress=False)
    run_ei_table1(EITable1Config.quick(problems=("inpainting",), **tiny), str(tmp_path / "one"), progress=False)
    both = json.loads((tmp_path / "both" / "table.json").read_text())["per_image_psnr"]
    one = json.loads((tmp_path / "one" / "table.json").read_text())["per_image_psnr"]
    assert one["inpainting/sup"] == both["inpainting/sup"] and one["inpainting/pinv"] == both["inpainting/pinv"]
    assert one["inpainting/sup"] != one["inpainting/pinv"]  # it did train
