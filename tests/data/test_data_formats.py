"""Loaders of real data formats, on small files the tests write in the same layouts (no downloads): LoDoPaB-CT,
fastMRI single-coil knee, folders of PNG/TIFF images; streaming reads, deterministic splits, clear errors."""
import numpy as np
import pytest
import torch

from equinet import physics as P
from equinet.data import (DataFormatError, data_kind, fastmri_images, fastmri_pairs, image_folder, lodopab_images,
                          lodopab_pairs, measured, real_images, simulate_measurements, split_indices)
from equinet.data import files as files_module

h5py = pytest.importorskip("h5py", reason="h5py is the equinet-imaging[data] extra (installed with the test extra)")


def write_lodopab(root, part, counts, shape_gt=(6, 6), shape_obs=(5, 7), seed=0):
    rng = np.random.default_rng(seed)
    gt, obs = [], []
    for k, c in enumerate(counts):
        a = rng.random((c,) + shape_gt).astype(np.float32)
        b = rng.random((c,) + shape_obs).astype(np.float32)
        with h5py.File(root / f"ground_truth_{part}_{k:03d}.hdf5", "w") as h:
            h.create_dataset("data", data=a)
        with h5py.File(root / f"observation_{part}_{k:03d}.hdf5", "w") as h:
            h.create_dataset("data", data=b)
        gt.append(a)
        obs.append(b)
    return np.concatenate(gt), np.concatenate(obs)


@pytest.fixture
def lodopab(tmp_path):
    gt, obs = write_lodopab(tmp_path, "train", [3, 2])
    write_lodopab(tmp_path, "validation", [2], seed=1)
    return tmp_path, gt, obs


def test_lodopab_pairs_and_images_read_the_files(lodopab):
    root, gt, obs = lodopab
    pairs = lodopab_pairs(root, "train")
    assert len(pairs) == 5 and pairs.has_ground_truth
    x, y = pairs.batch(torch.tensor([4, 0, 3]))  # items across both files, in the numbered order
    assert torch.equal(x[:, 0], torch.from_numpy(gt[[4, 0, 3]])) and torch.equal(y[:, 0], torch.from_numpy(obs[[4, 0, 3]]))
    assert len(lodopab_pairs(root, "val")) == 2 and lodopab_pairs(root, "train", ground_truth=False)[1].shape == (1, 5, 7)
    imgs = lodopab_images(root, "train")
    assert torch.equal(imgs[2], torch.from_numpy(gt[2])[None])
    small = lodopab_images(root, "train", image_size=3)
    assert small[2].shape == (1, 3, 3)
    torch.testing.assert_close(small[2].mean(), imgs[2].mean(), rtol=0.05, atol=0.05)


def test_loaders_stream_one_item_per_read(lodopab, monkeypatch):
    root = lodopab[0]
    ds = lodopab_pairs(root, "train")
    reads = []
    original = h5py.Dataset.__getitem__

    def spy(self, key):
        reads.append(key)
        return original(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    ds[3]
    assert reads == [0, 0]  # item 3 = item 0 of the second file, once from ground truth, once from observations


def test_lodopab_errors_say_what_is_expected(tmp_path, lodopab):
    with pytest.raises(DataFormatError, match="does not exist.*LoDoPaB-CT folder"):
        lodopab_images(tmp_path / "nowhere")
    (tmp_path / "other").mkdir()
    with pytest.raises(DataFormatError, match="no files matching ground_truth_train_.*observation_"):
        lodopab_images(tmp_path / "other")
    with pytest.raises(ValueError, match="split must be one of"):
        lodopab_images(lodopab[0], "validation")
    bad = tmp_path / "bad"
    bad.mkdir()
    with h5py.File(bad / "ground_truth_train_000.hdf5", "w") as h:
        h.create_dataset("images", data=np.zeros((2, 4, 4)))
    with pytest.raises(DataFormatError, match="cannot be read as LoDoPaB-CT"):
        lodopab_images(bad)
    (bad / "ground_truth_test_000.hdf5").write_text("not hdf5")
    with pytest.raises(DataFormatError, match="cannot be read as LoDoPaB-CT"):
        lodopab_images(bad, "test")
    write_lodopab(bad, "validation", [2])
    with h5py.File(bad / "observation_validation_000.hdf5", "w") as h:
        h.create_dataset("data", data=np.zeros((3, 5, 7), dtype=np.float32))
    with pytest.raises(DataFormatError, match="the same numbers"):
        lodopab_pairs(bad, "val")


def write_fastmri(root, name, slices, shape=(8, 6), seed=0):
    rng = np.random.default_rng(seed)
    k = (rng.standard_normal((slices,) + shape) + 1j * rng.standard_normal((slices,) + shape)).astype(np.complex64)
    esc = rng.random((slices, 4, 4)).astype(np.float32) * 3
    with h5py.File(root / name, "w") as h:
        h.create_dataset("kspace", data=k)
        h.create_dataset("reconstruction_esc", data=esc)
        h.attrs["max"] = float(esc.max())
    return k, esc


def test_fastmri_pairs_are_exactly_equinets_mri_of_the_image(tmp_path):
    k, esc = write_fastmri(tmp_path, "file1000.h5", 3)
    op = P.MRI((8, 6), acceleration=2, seed=0)
    ds = fastmri_pairs(tmp_path, "all", mask=op.mask)
    assert len(ds) == 3
    x, y = ds.batch(torch.tensor([1, 2]))
    assert x.shape == y.shape == (2, 2, 8, 6)
    torch.testing.assert_close(op(x), y, rtol=0, atol=1e-6)  # y = M F x, F the centred orthonormal FFT
    full = fastmri_pairs(tmp_path, "all")[1][1]
    kk = torch.from_numpy(k[1]) / float(esc.max())
    torch.testing.assert_close(full, torch.stack((kk.real, kk.imag)))
    imgs = fastmri_images(tmp_path, "all")
    torch.testing.assert_close(imgs[2], torch.from_numpy(esc[2] / esc.max())[None])
    assert float(max(imgs[i].max() for i in range(3))) == pytest.approx(1.0)


def test_fastmri_splits_by_volume_deterministically(tmp_path):
    for v in range(10):
        write_fastmri(tmp_path, f"file{v:04d}.h5", 2, seed=v)
    parts = {s: fastmri_images(tmp_path, s, seed=3) for s in ("train", "val", "test")}
    keys = {s: {tuple(d[i].flatten()[:4].tolist()) for i in range(len(d))} for s, d in parts.items()}
    assert [len(parts[s]) for s in ("train", "val", "test")] == [16, 2, 2]  # 8 / 1 / 1 volumes of 2 slices
    assert len(keys["train"] | keys["val"] | keys["test"]) == 20  # disjoint, covering every slice
    a, b = fastmri_images(tmp_path, "val", seed=3), fastmri_images(tmp_path, "val", seed=4)
    assert torch.equal(a[0], parts["val"][0]) and not torch.equal(a[0], b[0])


def test_fastmri_errors(tmp_path):
    with pytest.raises(DataFormatError, match="no files matching \\*.h5.*kspace"):
        fastmri_pairs(tmp_path)
    with h5py.File(tmp_path / "bad.h5", "w") as h:
        h.create_dataset("kspace", data=np.zeros((2, 4, 4), dtype=np.float32))
    with pytest.raises(DataFormatError, match="complex"):
        fastmri_pairs(tmp_path)
    with pytest.raises(DataFormatError, match="reconstruction_esc"):
        fastmri_images(tmp_path)


def write_images(root):
    from PIL import Image
    rng = np.random.default_rng(0)
    gray = (rng.random((10, 14)) * 255).astype(np.uint8)
    rgb = (rng.random((12, 12, 3)) * 255).astype(np.uint8)
    deep = (rng.random((9, 9)) * 65535).astype(np.uint16)
    Image.fromarray(gray).save(root / "a.png")
    Image.fromarray(rgb).save(root / "b.png")
    Image.fromarray(deep).save(root / "c.tif")
    (root / "notes.txt").write_text("ignored")
    return gray, rgb, deep


def test_image_folder_reads_png_and_tiff(tmp_path):
    gray, rgb, deep = write_images(tmp_path)
    ds = image_folder(tmp_path)
    assert len(ds) == 3
    torch.testing.assert_close(ds[0], torch.from_numpy(gray / 255.0).float()[None])
    want = (rgb / 255.0) @ np.array([0.2125, 0.7154, 0.0721])
    torch.testing.assert_close(ds[1], torch.from_numpy(want).float()[None])
    torch.testing.assert_close(ds[2], torch.from_numpy(deep / 65535.0).float()[None])
    colour = image_folder(tmp_path, channels=3, image_size=6)
    assert colour[1].shape == (3, 6, 6) and colour[0].shape == (3, 6, 6)
    torch.testing.assert_close(colour[0][0], colour[0][2])  # grayscale files repeated on the three channels
    assert ds[0].shape == (1, 10, 14) and image_folder(tmp_path, image_size=5)[0].shape == (1, 5, 5)


def test_image_folder_errors(tmp_path):
    with pytest.raises(DataFormatError, match="no files matching.*PNG, TIFF or JPEG"):
        image_folder(tmp_path)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataFormatError, match="cannot be read as an image"):
        image_folder(tmp_path)[0]


def test_splits_are_disjoint_deterministic_and_cover_everything():
    parts = [split_indices(37, s, seed=5) for s in ("train", "val", "test")]
    assert sorted(torch.cat(parts).tolist()) == list(range(37))
    assert [len(p) for p in parts] == [30, 4, 3]
    assert torch.equal(parts[1], split_indices(37, "val", seed=5)) and not torch.equal(parts[1], split_indices(37, "val", seed=6))
    with pytest.raises(ValueError, match="fractions"):
        split_indices(10, "train", fractions=(0.5, 0.2, 0.2))


def test_measured_streams_the_same_noise_as_simulate_measurements(tmp_path):
    write_images(tmp_path)
    images = image_folder(tmp_path, image_size=8)
    op = P.Radon(8, angles=4, noise=P.GaussianNoise(0.1))
    ds = measured(images, op, seed=3, ground_truth=True)
    ref = simulate_measurements(op, torch.stack([images[i] for i in range(3)]), seed=3, ground_truth=True)
    x, y = ds.batch(torch.tensor([2, 0]))
    assert torch.equal(y, ref.y[[2, 0]]) and torch.equal(x, ref.x[[2, 0]])


def test_real_images_recognises_each_kind(tmp_path, lodopab):
    root = lodopab[0]
    assert data_kind(root) == "lodopab" and real_images(root, 2, 4, "train").shape == (2, 1, 4, 4)
    mri = tmp_path / "mri"
    mri.mkdir()
    for v in range(3):
        write_fastmri(mri, f"file{v}.h5", 2, seed=v)
    assert data_kind(mri) == "fastmri" and real_images(mri, 3, 4, "all").shape == (3, 1, 4, 4)
    pics = tmp_path / "pics"
    pics.mkdir()
    write_images(pics)
    assert data_kind(pics) == "images"
    a = real_images(pics, 2, 4, "all", seed=1)
    assert torch.equal(a, real_images(pics, 2, 4, "all", seed=1))
    with pytest.raises(DataFormatError, match="holds 3 images; 5 are needed"):
        real_images(pics, 5, 4, "all")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataFormatError, match="LoDoPaB-CT.*fastMRI.*PNG/TIFF"):
        data_kind(empty)


def test_missing_h5py_names_the_extra(monkeypatch, lodopab):
    real_import = files_module.importlib.import_module

    def fake(name, *a, **k):
        if name == "h5py":
            raise ImportError("No module named 'h5py'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(files_module.importlib, "import_module", fake)
    with pytest.raises(ImportError, match=r"pip install 'equinet-imaging\[data\]'"):
        lodopab_images(lodopab[0])


def test_the_trainer_takes_the_loaders(tmp_path):
    """fastMRI pairs with the matching MRI operator (supervised), and a measured image folder (MC), two steps each."""
    from equinet.losses import MCLoss, SupervisedLoss
    from equinet.nets import PinvReconstructor
    from equinet.training import Trainer
    for v in range(2):
        write_fastmri(tmp_path, f"file{v}.h5", 2, seed=v)
    op = P.MRI((8, 6), acceleration=2)
    pics = tmp_path / "pics"
    pics.mkdir()
    write_images(pics)
    runs = [(SupervisedLoss(), op, fastmri_pairs(tmp_path, "all", mask=op.mask), 2),
            (MCLoss(), P.Inpainting(8, drop=0.3), measured(image_folder(pics, image_size=8), P.Inpainting(8, drop=0.3)),
             1)]
    for loss, physics, data, c in runs:
        torch.manual_seed(0)
        model = PinvReconstructor(torch.nn.Conv2d(c, c, 3, padding=1))
        before = [p.detach().clone() for p in model.parameters()]
        hist = Trainer(model, loss, physics, data, steps=2, batch_size=2, identifiability=False).fit()
        assert np.isfinite(hist.loss).all() and len(hist.loss) == 2
        assert any(not torch.equal(p, q) for p, q in zip(model.parameters(), before))
