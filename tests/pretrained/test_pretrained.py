"""The shipped denoisers: each loads with its checksum and basis signatures checked, matches its model card
(parameter count, held-out PSNR table), is equivariant by design where its card says so, and is bias-free
(f(c·x) = c·f(x)); a modified weight file or a card that describes another network is refused in one line."""
import json
import os
import shutil

import pytest
import torch

from equinet import pretrained
from equinet.pretrained import PretrainedError, card, load

NAMES = ("dncnn_c1", "dncnn_c4", "dncnn_c8", "dncnn_d4")


def test_available_lists_the_four_denoisers():
    assert pretrained.available() == NAMES
    assert pretrained.list() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_load_matches_the_card(name):
    c = card(name)
    D = load(name)
    assert not D.training
    assert sum(p.numel() for p in D.parameters()) == c["parameters"]
    assert c["sha256"] == pretrained.sha256(os.path.join(pretrained.weights_dir(), c["weights"]))
    assert D.spec.G.name == c["spec"]["group"] == name[-2:].upper()
    assert c["config"] == f"experiments/configs/denoise_{name[-2:]}.toml"
    assert os.path.isfile(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), c["config"]))
    x = torch.rand(2, 1, 24, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # bias-free: positively homogeneous
        assert torch.allclose(D(3.0 * x), 3.0 * D(x), atol=1e-5, rtol=1e-5)


def test_card_psnr_is_reproduced():
    pytest.importorskip("skimage")
    from equinet.pretrained.publish import heldout_psnr
    c = card("dncnn_c4")
    table = heldout_psnr(load("dncnn_c4"), [r["sigma"] for r in c["psnr"]])
    for r in c["psnr"]:
        cin, cout = table[r["sigma"]]
        assert cin == pytest.approx(r["input"], abs=0.006) and cout == pytest.approx(r["output"], abs=0.006)
    # it denoises across the training range: the output beats the input from sigma = 0.05 up
    assert all(r["output"] > r["input"] + 1.0 for r in c["psnr"] if 0.05 <= r["sigma"] <= 0.2)


@pytest.mark.parametrize("name,flip", [("dncnn_c4", False), ("dncnn_d4", True), ("dncnn_c8", False)])
def test_equivariant_by_design(name, flip):
    D = load(name)
    x = torch.rand(1, 1, 20, 20, generator=torch.Generator().manual_seed(1))
    T = (lambda u: u.flip(-1)) if flip else (lambda u: u.rot90(1, (-2, -1)))
    with torch.no_grad():
        assert torch.allclose(D(T(x)), T(D(x)), atol=1e-5)
    if not flip:  # the plain denoiser is not
        P = load("dncnn_c1")
        with torch.no_grad():
            assert (P(T(x)) - T(P(x))).abs().max() > 1e-3


def _copy(tmp_path, name):
    for ext in (".pt", ".json"):
        shutil.copy(os.path.join(pretrained.weights_dir(), name + ext), tmp_path / (name + ext))
    return tmp_path


def test_a_tampered_weight_file_is_refused(tmp_path):
    d = _copy(tmp_path, "dncnn_c4")
    assert sum(p.numel() for p in load("dncnn_c4", directory=d).parameters()) > 0  # the copy loads
    path = d / "dncnn_c4.pt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    path.write_bytes(bytes(data))
    with pytest.raises(PretrainedError, match="fail their checksum") as err:
        load("dncnn_c4", directory=d)
    assert "\n" not in str(err.value) and "dncnn_c4" in str(err.value)


def test_a_card_describing_another_network_is_refused_by_the_basis_signature(tmp_path):
    d = _copy(tmp_path, "dncnn_c4")
    p = d / "dncnn_c4.json"
    c = json.loads(p.read_text())
    c["spec"]["group"] = "D2"  # same kernel size and field count, another group: the checksum still passes
    p.write_text(json.dumps(c))
    with pytest.raises(PretrainedError, match="do not match the network of their model card") as err:
        load("dncnn_c4", directory=d)
    assert "\n" not in str(err.value)


def test_bad_names_and_missing_files(tmp_path):
    with pytest.raises(PretrainedError, match="no shipped denoiser 'dncnn_c2'; expected one of: dncnn_c1"):
        load("dncnn_c2")
    d = _copy(tmp_path, "dncnn_c1")
    os.remove(d / "dncnn_c1.pt")
    with pytest.raises(PretrainedError, match="weights of 'dncnn_c1' are missing"):
        load("dncnn_c1", directory=d)
    assert pretrained.available(tmp_path / "nowhere") == ()


def test_publish_writes_the_shipped_file_from_a_run(tmp_path):
    pytest.importorskip("skimage")
    from equinet.pretrained.publish import main, publish
    run = tmp_path / "denoise_c1"
    run.mkdir()
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    shutil.copy(os.path.join(root, "experiments", "configs", "denoise_c1.toml"), run / "config.toml")
    sd = {"net." + k: v for k, v in load("dncnn_c1").state_dict().items()}
    torch.save({"model": sd, "step": 3000}, run / "checkpoint.pt")
    c = publish("dncnn_c1", str(run), str(tmp_path / "w"))
    shipped = card("dncnn_c1")
    assert c["sha256"] == shipped["sha256"]  # the same bytes as the shipped weight file
    assert c == shipped
    assert load("dncnn_c1", directory=tmp_path / "w").spec.G.name == "C1"
    from equinet.utils.cli import UsageError
    with pytest.raises(UsageError, match="has no config.toml"):
        main(["dncnn_x", str(tmp_path / "nowhere"), "--dest", str(tmp_path / "w2")])
    assert not (tmp_path / "w2").exists()
