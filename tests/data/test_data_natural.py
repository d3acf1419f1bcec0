"""Crops of scikit-image's bundled photographs."""

import sys

import numpy as np
import pytest
import torch

from equinet.data import GRAY_IMAGES, RGB_IMAGES, NaturalImageCrops, load_image, natural_image_crops

skdata = pytest.importorskip("skimage.data")


def test_all_default_images_load_offline():
    for name in GRAY_IMAGES + RGB_IMAGES:
        img = load_image(name)
        assert img.dim() == 3 and img.shape[0] == 1 and min(img.shape[1:]) >= 300
        assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0
        assert float(img.std()) > 0.05  # a real photograph, not a blank
    for name in RGB_IMAGES:
        assert load_image(name, grayscale=False).shape[0] == 3
    cam = load_image("camera")[0].numpy()
    np.testing.assert_allclose(cam, skdata.camera() / 255.0, rtol=0, atol=0)
    assert load_image("camera", grayscale=False).shape[0] == 3  # grayscale sources are repeated


def test_crops_are_crops_and_deterministic():
    ds = NaturalImageCrops(12, 32, seed=7)
    assert len(ds) == 12
    for i in range(len(ds)):
        crop = ds[i]
        name, top, left = ds.crop_info(i)
        assert crop.shape == (1, 32, 32) and crop.dtype == torch.get_default_dtype()
        src = load_image(name)[:, top:top + 32, left:left + 32].to(crop.dtype)
        assert torch.equal(crop, src)
        assert float(crop.min()) >= 0.0 and float(crop.max()) <= 1.0
    again = NaturalImageCrops(12, 32, seed=7)
    assert all(torch.equal(ds[i], again[i]) for i in range(12))
    other = NaturalImageCrops(12, 32, seed=8)
    assert sum(torch.equal(ds[i], other[i]) for i in range(12)) == 0
    stacked = natural_image_crops(12, 32, seed=7)
    assert stacked.shape == (12, 1, 32, 32) and torch.equal(stacked[5], ds[5])
    assert torch.equal(NaturalImageCrops(5, 32, seed=7)[3], ds[3])  # item i depends on (seed, i) only


def test_sources_and_positions_are_spread():
    ds = NaturalImageCrops(300, (24, 40), seed=0)
    info = [ds.crop_info(i) for i in range(len(ds))]
    names = {n for n, _, _ in info}
    assert names == set(GRAY_IMAGES + RGB_IMAGES)  # 10 images, 300 draws: all appear
    tops = np.array([t for n, t, _ in info if n == "camera"])
    assert tops.min() < 100 and tops.max() > 512 - 24 - 100


def test_colour_crops():
    ds = NaturalImageCrops(4, 16, seed=1, grayscale=False)
    assert ds.images == RGB_IMAGES
    x = ds[0]
    assert x.shape == (3, 16, 16)
    assert float((x[0] - x[1]).abs().max()) > 0  # genuinely colour
    assert NaturalImageCrops(2, 16, images=["camera"], dtype=torch.float64)[1].dtype == torch.float64


def test_errors():
    with pytest.raises(ValueError, match="larger than these images: .*coins 303x384"):
        NaturalImageCrops(2, 310, images=["camera", "coins"])
    with pytest.raises(ValueError, match="no bundled image 'not_an_image'"):
        NaturalImageCrops(2, 8, images=["not_an_image"])
    with pytest.raises(ValueError, match="at least one"):
        NaturalImageCrops(2, 8, images=[])
    with pytest.raises(ValueError, match="seed"):
        NaturalImageCrops(2, 8, seed=-1)
    with pytest.raises(IndexError):
        NaturalImageCrops(2, 8)[2]


def test_missing_scikit_image_gives_install_hint(monkeypatch):
    for mod in [m for m in sys.modules if m == "skimage" or m.startswith("skimage.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "skimage", None)  # makes `import skimage...` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'equinet-imaging\[images\]'"):
        NaturalImageCrops(2, 8)


def test_train_and_test_photographs_are_disjoint():
    from equinet.data import DATASETS, TEST_PHOTOS, TRAIN_PHOTOS
    assert not set(TRAIN_PHOTOS) & set(TEST_PHOTOS)
    assert set(TRAIN_PHOTOS) | set(TEST_PHOTOS) == set(GRAY_IMAGES + RGB_IMAGES)
    for name, photos in (("natural_train", TRAIN_PHOTOS), ("natural_test", TEST_PHOTOS)):
        x = DATASETS.get(name)(6, 24, seed=3)
        ds = NaturalImageCrops(6, 24, seed=3, images=photos)
        assert x.shape == (6, 1, 24, 24) and x.dtype == torch.float32
        assert torch.equal(x, torch.stack([ds[i] for i in range(6)]).float())
        assert {ds.crop_info(i)[0] for i in range(6)} <= set(photos)
