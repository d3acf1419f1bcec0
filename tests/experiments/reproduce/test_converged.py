"""The converged budget of the reproductions: the flag, the learning curves, the results file that fills in across
runs (and refuses runs of other settings), the figure and the table drawn from the file alone."""
import dataclasses
import json
import os

import pytest

from equinet.utils.cli import UsageError

from equinet.experiments.reproduce.converged import gap_rows, load_results, markdown, merge_results
from equinet.experiments.reproduce.ei_table1 import GAPS, LABELS, EITable1Config, main, run_ei_table1
from equinet.experiments.reproduce.mri_ei import MRIEIConfig, run_mri_ei

TINY = dict(problems=("ct",), image_size=16, n_train=4, n_test=2, n_val=2, steps=40, val_every=10, min_steps=10,
            batch_size=2, width=2, scales=1, workers=1)


def test_converged_preset_and_cli_flag():
    cfg = EITable1Config.converged()
    assert cfg.mode == "converged" and cfg.converge is cfg and cfg.n_few == 0 and cfg.ct_views == 25
    assert EITable1Config.quick().converge is None
    with pytest.raises(UsageError, match="not allowed with argument"):
        main(["--converged", "--quick"])


def test_ei_sup_has_its_own_weight_on_ct():
    from equinet.experiments.reproduce.common import make_loss
    from equinet.experiments.reproduce.converged import reads
    from equinet.experiments.reproduce.ei_table1 import build_problems
    cfg = EITable1Config.converged(**dict(TINY, problems=("ct", "inpainting")))
    ps = build_problems(cfg)
    assert (ps["ct"].alpha_for("ei"), ps["ct"].alpha_for("ei_adv"), ps["ct"].alpha_for("ei_sup")) == (10.0, 10.0, 1.0)
    assert ps["inpainting"].alpha_for("ei_sup") == ps["inpainting"].alpha_for("ei") == cfg.alpha_inpainting
    quick = build_problems(EITable1Config.quick(**dict(TINY, problems=("ct",), n_few=0)))["ct"]
    assert quick.alpha_for("ei_sup") == quick.alpha_for("ei") == 100.0     # the paper code's one weight
    loss = make_loss("ei_sup", ps["ct"].transform, ps["ct"].alpha_for("ei_sup"))
    assert loss.weight == 1.0 and make_loss("ei_sup", ps["ct"].transform, ps["ct"].alpha_for("ei")).weight == 10.0
    assert reads("ei_sup", "alpha_ei_sup_ct", "ct") and not reads("ei", "alpha_ei_sup_ct", "ct")
    assert not reads("ei_sup", "alpha_ei_sup_ct", "inpainting")
    with pytest.raises(UsageError, match="EITable1Config.alpha_ei_sup_ct"):
        main(["--converged", "--alpha-ei-sup-ct", "0"])


def test_results_fill_in_across_runs_with_curves(tmp_path):
    res = str(tmp_path / "results" / "ei-table1.json")
    run_ei_table1(EITable1Config.converged(methods=("pinv", "sup"), **TINY), out=str(tmp_path / "a"), progress=False,
                  results=res)
    doc = load_results(res)
    assert set(doc["entries"]) == {"ct/pinv", "ct/sup"}
    sup = doc["entries"]["ct/sup"]
    steps = [s for s, _ in sup["curve"]]
    assert steps[0] == 0 and steps == sorted(steps) and steps[-1] == sup["steps"] <= 40
    assert all(s % 10 == 0 for s in steps) and sup["cpu_seconds"] > 0 and isinstance(sup["converged"], bool)
    assert os.path.getsize(str(tmp_path / "results" / "ei-table1_ct.png")) > 0
    # a second run adds EI and keeps Sup bit for bit
    run_ei_table1(EITable1Config.converged(methods=("pinv", "ei"), **TINY), out=str(tmp_path / "b"), progress=False,
                  results=res)
    doc2 = load_results(res)
    assert set(doc2["entries"]) == {"ct/pinv", "ct/sup", "ct/ei"} and doc2["entries"]["ct/sup"] == sup
    gaps = {g["gap"]: g for g in doc2["gaps"]}
    v = {k.split("/")[1]: e["psnr"]["test"][0] for k, e in doc2["entries"].items()}
    assert gaps["Sup − EI"]["measured"] == pytest.approx(v["sup"] - v["ei"], abs=1e-3)
    assert gaps["EI − A†y"]["paper"] == pytest.approx(36.94 - 30.24, abs=1e-3)
    assert doc2["gaps"] == gap_rows(doc2, GAPS)
    table = markdown(doc2, LABELS)
    assert table.count("\n") == 2 + 3 and "| ct | Sup |" in table
    assert [line.split(" | ")[1] for line in table.splitlines()[2:]] == ["A†y", "EI", "Sup"]
    assert doc2["core_hours"] == pytest.approx(sum(e["cpu_seconds"] for e in doc2["entries"].values()) / 3600, abs=1e-3)
    # other settings are refused before any training, and nothing is changed
    before = open(res).read()
    with pytest.raises(ValueError, match="other settings.*image_size"):
        run_ei_table1(EITable1Config.converged(methods=("sup",), **dict(TINY, image_size=12)),
                      out=str(tmp_path / "c"), progress=False, results=res)
    assert open(res).read() == before and not os.path.exists(tmp_path / "c" / "runs")
    with pytest.raises(ValueError, match="holds 'ei-table1', not 'mri-ei'"):
        run_mri_ei(MRIEIConfig.converged(methods=("sup",), **{k: v for k, v in TINY.items() if k != "problems"}),
                   out=str(tmp_path / "d"), progress=False, results=res)


def test_a_run_folder_of_another_plateau_rule_is_refused_not_resumed(tmp_path):
    out = str(tmp_path / "a")
    run_ei_table1(EITable1Config.converged(methods=("sup",), **TINY), out=out, progress=False,
                  results=str(tmp_path / "r.json"))
    with pytest.raises(ValueError, match="another configuration.*window"):
        run_ei_table1(EITable1Config.converged(methods=("sup",), **dict(TINY, window=0.3)), out=out,
                      progress=False, results=str(tmp_path / "r2.json"))


def test_the_command_refuses_a_folder_of_other_settings_in_one_line(tmp_path, capsys):
    from equinet.__main__ import main as equinet_main
    out = str(tmp_path / "a")
    run_ei_table1(EITable1Config.converged(methods=("pinv", "sup"), **TINY), out=out, progress=False,
                  results=str(tmp_path / "r.json"))
    # the command's converged settings differ from TINY's: the run folder is refused as the user's, not a bug
    assert equinet_main(["reproduce", "ei-table1", "--converged", "--problems", "ct", "--methods", "sup",
                         "--out", out, "--results", str(tmp_path / "r3.json"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was written with another configuration" in err[0] and "Traceback" not in err[0]


def test_report_command(tmp_path, capsys):
    from equinet.experiments.reproduce.converged import main as report_main
    from equinet.utils.cli import run_command
    assert run_command(report_main, [str(tmp_path / "missing.json")], prog="converged") == 2
    assert "no results file" in capsys.readouterr().err
    doc = merge_results(None, "ei-table1", {"seed": 0}, {"ct/sup": dict(
        problem="ct", method="sup", psnr={"test": [30.0, 0.5]}, curve=[[0, 20.0], [10, 29.0]], steps=10,
        converged=True, train_seconds=60.0, cpu_seconds=7200.0)}, {"ct": {"sup": 38.17}})
    (tmp_path / "r.json").write_text(json.dumps(doc))
    assert report_main([str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "| ct | Sup | 30.00 ± 0.50 | 38.17 | 10 | yes | 1.0 | 2.00 |" in out and "Core-hours in all: 2.00" in out


def test_a_file_without_paper_values_has_no_paper_columns():
    from equinet.experiments.reproduce.converged import report
    doc = merge_results(None, "design-plus-learning", {"seed": 0}, {"ct/sup": dict(
        problem="ct", method="sup", psnr={"test": [30.0, 0.5]}, curve=[[0, 20.0], [10, 29.0]], steps=10,
        converged=True, train_seconds=60.0, cpu_seconds=3600.0)}, {})
    doc["gaps"] = [{"problem": "ct", "gap": "Sup − EI", "measured": 1.25, "paper": None}]
    text = report(doc)
    assert "paper" not in text
    assert "| ct | Sup | 30.00 ± 0.50 | 10 | yes | 1.0 | 1.00 |" in text and "| ct | Sup − EI | +1.25 |" in text
    for line in text.splitlines():  # every row has as many cells as its header
        if line.startswith("| problem"):
            width = line.count("|")
        elif line.startswith("|"):
            assert line.count("|") == width, line


def test_a_file_that_is_not_a_results_file_is_refused(tmp_path):
    p = tmp_path / "r.json"
    p.write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="no 'entries' object"):
        load_results(str(p))
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not a readable JSON"):
        load_results(str(p))
    assert merge_results(None, "x", {"seed": 0, "workers": 2}, {}, {})["config"] == {"seed": 0}


def _entry(curve, steps, seconds, test=30.0, cpu=None):
    return dict(problem="ct", method="ei", psnr={"test": [test, 0.5]}, curve=curve, steps=steps, converged=True,
                train_seconds=seconds, cpu_seconds=seconds / 2 if cpu is None else cpu)


def test_a_setting_added_later_matches_a_file_without_it_at_its_default():
    cfg = EITable1Config.converged(methods=("sup",), **TINY)
    old = {k: v for k, v in merge_results(None, "ei-table1", cfg, {}, {})["config"].items() if k != "steps_ct"}
    doc = dict(name="ei-table1", config=old, entries={})
    assert merge_results(doc, "ei-table1", cfg, {}, {})["config"] == old  # None, the default: accepted
    with pytest.raises(ValueError, match="other settings.*steps_ct"):
        merge_results(doc, "ei-table1", EITable1Config.converged(methods=("sup",), steps_ct=500, **TINY), {}, {})
    with pytest.raises(ValueError, match="other settings.*'ct_views'"):  # a recorded setting still has to match
        merge_results(doc, "ei-table1", EITable1Config.converged(methods=("sup",), ct_views=9, **TINY), {}, {})


def test_a_setting_that_became_a_recipe_setting_moves_into_the_entries():
    e = dict(problem="ct", psnr={"test": [30.0, 0.5]}, curve=[[0, 20.0], [10, 29.0]], steps=10, converged=True,
             train_seconds=60.0, cpu_seconds=60.0, settings={"lr": 1e-3})
    cfg = EITable1Config.converged(methods=("ei",), **dict(TINY, batch_size=4))  # the preset's recipe
    legacy = dict(name="ei-table1", config=dict(merge_results(None, "ei-table1", cfg, {}, {})["config"],
                                                rotation_interpolation="bilinear"),
                  entries={"ct/ei": dict(e, method="ei"), "inpainting/ei": dict(e, method="ei", problem="inpainting")})
    doc = merge_results(legacy, "ei-table1", cfg, {"ct/ei": dict(e, method="ei", steps=20)}, {})  # a Fourier re-run
    assert "rotation_interpolation" not in doc["config"] and doc["preset"]["rotation_interpolation"] == "fourier"
    assert doc["entries"]["ct/ei"]["settings"]["rotation_interpolation"] == "fourier"
    assert doc["entries"]["inpainting/ei"]["settings"] == {"lr": 1e-3, "rotation_interpolation": "bilinear"}
    sup = merge_results(doc, "ei-table1", cfg, {"ct/sup": dict(e, method="sup"),
                                                "ct/ei_sup": dict(e, method="ei_sup")}, {})
    sup["entries"]["ct/ei_sup"]["settings"]["rotation_interpolation"] = "bilinear"
    rows = {r.split("|")[2].strip(): r for r in markdown(sup, LABELS).splitlines()[2:]}
    assert rows["EI-sup"].endswith("| rotation_interpolation bilinear |")   # read by EI-sup on CT: named
    assert rows["Sup"].endswith("|  |") and rows["EI"].endswith("|  |")    # Sup does not rotate; EI has the preset's
    inp = [r for r in markdown(sup, LABELS).splitlines() if r.startswith("| inpainting")]
    assert inp and all(r.endswith("|  |") for r in inp)                  # no rotations on inpainting: not named


def test_each_entry_records_its_recipe_and_the_table_names_the_differences():
    e = dict(problem="ct", psnr={"test": [30.0, 0.5]}, curve=[[0, 20.0], [10, 29.0]], steps=10, converged=True,
             train_seconds=60.0, cpu_seconds=60.0)
    base = EITable1Config.converged(**dict(TINY, batch_size=4))  # the preset's recipe (TINY's batch differs)
    doc = merge_results(None, "ei-table1", base, {"ct/sup": dict(e, method="sup"), "ct/ei": dict(e, method="ei")}, {})
    assert "lr" not in doc["config"] and doc["entries"]["ct/ei"]["settings"]["lr"] == base.lr
    assert "recipe" not in markdown(doc, LABELS)                          # one recipe: no column
    doc = merge_results(doc, "ei-table1", dataclasses.replace(base, ema=0.999, n_trans=3),
                        {"ct/ei": dict(e, method="ei", steps=20)}, {})     # EI re-run with another recipe: merged
    assert doc["entries"]["ct/sup"]["settings"]["ema"] is None and doc["entries"]["ct/ei"]["settings"]["ema"] == 0.999
    assert doc["preset"] == {k: getattr(EITable1Config.converged(), k) for k in doc["preset"]}
    rows = markdown(doc, LABELS).splitlines()                            # what differs from the preset's recipe
    assert rows[0].endswith("| recipe |") and rows[2].endswith("| ema 0.999, n_trans 3 |") and rows[3].endswith("|  |")
    doc["preset"]["ema"] = 0.999                                          # had the preset been EMA: Sup differs
    rows = markdown(doc, LABELS).splitlines()
    assert rows[2].endswith("| n_trans 3 |") and rows[3].endswith("| ema – |")
    adv = merge_results(doc, "ei-table1", dataclasses.replace(base, adv_weight=1e-8),
                        {"ct/ei_adv": dict(e, method="ei_adv")}, {})
    rows = markdown(adv, LABELS).splitlines()
    assert rows[3].startswith("| ct | EI-adv |") and rows[3].endswith("| adv_weight 1e-08 |")
    # a file written before entries recorded their recipe: the file's recipe moves into its entries
    legacy = dict(name="ei-table1", config=dict(doc["config"], lr=5e-4, n_trans=1),
                  entries={"ct/sup": {k: v for k, v in doc["entries"]["ct/sup"].items() if k != "settings"}})
    merged = merge_results(legacy, "ei-table1", base, {"ct/ei": dict(e, method="ei")}, {})
    # (what the file does not record, the dataclass default: batch_size 4, ema None, the weights)
    assert merged["entries"]["ct/sup"]["settings"] == dict(lr=5e-4, n_trans=1, ema=None, batch_size=4, adv_weight=0.1,
                                                           alpha_ct=100.0, alpha_inpainting=1.0, alpha_ei_sup_ct=None,
                                                           rotation_interpolation="bilinear")
    assert "lr" not in merged["config"] and merged["entries"]["ct/ei"]["settings"]["lr"] == base.lr


def test_recipes_compared_by_steps_and_wall_time_to_within_1db(tmp_path, capsys):
    from equinet.experiments.reproduce.converged import main as report_main
    from equinet.experiments.reproduce.converged import recipes_markdown, steps_to_within
    a = _entry([[0, 20.0], [250, 27.0], [500, 28.0], [1000, 29.5], [2000, 30.0]], 2000, 400.0)
    b = _entry([[0, 20.0], [250, 29.4], [500, 30.1], [750, 30.2]], 750, 300.0, test=30.5, cpu=60.0)
    assert steps_to_within(a) == 1000 and steps_to_within(b) == 250 and steps_to_within(a, 0.4) == 2000
    assert steps_to_within(b, 0.05) == 750 and steps_to_within(dict(curve=[])) is None
    table = recipes_markdown({"default": {"entries": {"ct/ei": a}}, "n_trans 3": {"entries": {"ct/ei": b}}}, "ct/ei")
    assert "| steps to 29.00 dB |" in table.splitlines()[0]  # the fixed quality: the first's final − 1 dB
    rows = table.splitlines()[2:]
    assert rows[0] == "| default | 1000 | 1.00 | 3.3 | 1.00 | 1.7 | 1.00 | 1000 | 1.00 | 30.00 | 30.00 | 2000 | yes |"
    assert rows[1] == "| n_trans 3 | 250 | 0.25 | 1.7 | 0.50 | 0.3 | 0.20 | 250 | 0.25 | 30.20 | 30.50 | 750 | yes |"
    low = _entry([[0, 20.0], [250, 28.0], [500, 28.5]], 500, 100.0)  # within 1 dB of its own final at once ...
    rows = recipes_markdown({"default": {"entries": {"ct/ei": a}}, "low": {"entries": {"ct/ei": low}}},
                            "ct/ei").splitlines()[2:]
    assert rows[1].startswith("| low | never |  |  |  |  |  | 250 | 0.25 | 28.50 |")  # ... never good
    with pytest.raises(ValueError, match="no entry 'ct/sup'"):
        recipes_markdown({"default": {"entries": {"ct/ei": a}}}, "ct/sup")
    for name, e in (("default", a), ("ntrans3", b)):
        (tmp_path / f"{name}.json").write_text(json.dumps(merge_results(None, "ei-table1", {"seed": 0},
                                                                        {"ct/ei": e}, {})))
    files = [str(tmp_path / "default.json"), str(tmp_path / "ntrans3.json")]
    with pytest.raises(UsageError, match="give --entry"):
        report_main(files)
    with pytest.raises(UsageError, match="give two or more"):
        report_main(files[:1] + ["--figure", str(tmp_path / "f.png")])
    assert report_main(files + ["--entry", "ct/ei", "--figure", str(tmp_path / "f.png")]) == 0
    assert "| ntrans3 | 250 | 0.25 |" in capsys.readouterr().out  # same settings: labelled by the file's name
    assert report_main(["old=" + files[0], files[1], "--entry", "ct/ei"]) == 0
    assert "| old | 1000 | 1.00 |" in capsys.readouterr().out     # LABEL=FILE
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    from equinet.experiments.reproduce.recipes import recipe_labels
    docs = {"default": dict(config=dict(steps=40000), entries={"ct/ei": dict(settings=dict(lr=1e-3, n_trans=1))}),
            "x": dict(config=dict(steps=8000), entries={"ct/ei": dict(settings=dict(lr=2e-3, n_trans=1))}),
            "y": dict(config=dict(lr=1e-3, n_trans=1), entries={"ct/ei": {}})}  # (a file of before recipes)
    assert recipe_labels(docs, "ct/ei") == {"default": "default", "x": "lr 0.002", "y": "y"}  # the cap is no recipe


def test_learning_rate_and_batch_flags_reach_the_settings():
    with pytest.raises(UsageError, match="EITable1Config.lr must be a finite number > 0"):
        main(["--converged", "--lr", "0"])
    with pytest.raises(UsageError, match="EITable1Config.batch_size"):
        main(["--converged", "--batch-size", "0"])
    with pytest.raises(UsageError, match="EITable1Config.n_trans"):
        main(["--converged", "--n-trans", "0"])
    with pytest.raises(UsageError, match="EITable1Config.ema must be a decay in"):
        main(["--converged", "--ema", "1"])
    with pytest.raises(UsageError, match="EITable1Config.alpha_ct"):
        main(["--converged", "--alpha-ct", "-1"])
    from equinet.experiments.reproduce.common import BUILD_PARSER
    a = main(BUILD_PARSER).parse_args(["--converged", "--alpha-ct", "3", "--alpha-inpainting", "0.5"])
    assert (a.alpha_ct, a.alpha_inpainting) == (3.0, 0.5)      # the dests are the config's fields


def test_an_ema_run_evaluates_the_average_and_records_its_decay(tmp_path):
    cfg = dict(TINY, methods=("sup",), steps=20)
    docs = []
    for name, ema in (("plain", None), ("ema", 0.5)):
        res = str(tmp_path / f"{name}.json")
        run_ei_table1(EITable1Config.converged(ema=ema, **cfg), out=str(tmp_path / name), progress=False, results=res)
        docs.append(load_results(res))
    plain, ema = (d["entries"]["ct/sup"] for d in docs)
    assert ema["settings"]["ema"] == 0.5 and plain["settings"]["ema"] is None
    assert plain["curve"][0] == ema["curve"][0] and plain["curve"][1:] != ema["curve"][1:]  # same start, averaged
    from equinet.experiments.reproduce.recipes import recipe_labels
    assert recipe_labels({"plain": docs[0], "ema": docs[1]}, "ct/sup") == {"plain": "plain", "ema": "ema 0.5"}
