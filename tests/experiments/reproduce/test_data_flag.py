"""``--data PATH``: the reproductions take real images of each kind (LoDoPaB-CT, fastMRI, a folder of images) in
place of their synthetic ones; a bad path is one error line before any work."""
import numpy as np
import pytest
import torch
from PIL import Image

from equinet.__main__ import main as equinet_main
from equinet.data import real_images
from equinet.experiments.reproduce.ei_table1 import EITable1Config, problem_data
from equinet.experiments.reproduce.lowdose_ct_rei import LowDoseCTConfig
from equinet.experiments.reproduce.lowdose_ct_rei import build_problems as ct_problems
from equinet.experiments.reproduce.mri_ei import MRIEIConfig
from equinet.experiments.reproduce.mri_ei import build_problems as mri_problems
from equinet.physics import real_to_channels
from equinet.utils.seeding import derived_seed

pytest.importorskip("h5py", reason="h5py is the equinet-imaging[data] extra (installed with the test extra)")
from tests.data.test_data_formats import write_fastmri, write_images, write_lodopab  # noqa: E402

TINY = dict(image_size=8, width=4, scales=1, steps=2, n_train=3, n_test=1, workers=1, batch_size=2)


def test_lowdose_ct_takes_lodopab(tmp_path):
    write_lodopab(tmp_path, "train", [4], shape_gt=(12, 12))
    write_lodopab(tmp_path, "test", [2], shape_gt=(12, 12), seed=1)
    cfg = LowDoseCTConfig.quick(**TINY, data=str(tmp_path))
    p = ct_problems(cfg)["lowdose_ct"]
    assert torch.equal(p.x_train, real_images(tmp_path, 3, 8, "train", seed=derived_seed(0, 31) % 2 ** 31))
    assert torch.equal(p.tests["test"][0], real_images(tmp_path, 1, 8, "test", seed=derived_seed(0, 32) % 2 ** 31))


def test_mri_takes_fastmri(tmp_path):
    for v in range(10):
        write_fastmri(tmp_path, f"file{v}.h5", 2, seed=v)
    cfg = MRIEIConfig.quick(**TINY, data=str(tmp_path))
    p = mri_problems(cfg)["mri"]
    want = real_to_channels(real_images(tmp_path, 3, 8, "train", seed=derived_seed(0, 21) % 2 ** 31))
    assert torch.equal(p.x_train, want) and p.x_train.shape == (3, 2, 8, 8)


def test_ei_table1_takes_an_image_folder(tmp_path):
    write_images(tmp_path)
    rng = np.random.default_rng(1)
    for k in range(10):
        Image.fromarray((rng.random((9, 9)) * 255).astype(np.uint8)).save(tmp_path / f"extra{k}.png")
    cfg = EITable1Config.quick(**TINY, n_few=1, data=str(tmp_path))
    for problem, key in (("ct", 1), ("inpainting", 5)):
        x_train = problem_data(cfg, problem)[3]
        assert torch.equal(x_train, real_images(tmp_path, 3, 8, "train", seed=derived_seed(0, key) % 2 ** 31))


@pytest.mark.parametrize("name", ["lowdose-ct-rei", "mri-ei", "ei-table1"])
def test_bad_data_path_is_one_line_before_any_work(tmp_path, capsys, name):
    assert equinet_main(["reproduce", name, "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not exist" in err and not (tmp_path / "o").exists()
