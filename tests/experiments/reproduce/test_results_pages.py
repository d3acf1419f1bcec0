"""Pages quote converged results files through generated blocks: regenerated from the file, refused without one,
figure links relative to the page, and a check mode that writes nothing."""
import json
import os

import pytest

from equinet.experiments.reproduce.converged import merge_results
from equinet.experiments.reproduce.results_pages import main, sync_page

ENTRIES = {"ct/pinv": dict(problem="ct", method="pinv", psnr={"test": [30.0, 1.0]}, curve=[], steps=0, converged=True,
                           train_seconds=0.0, cpu_seconds=0.0),
           "ct/ei": dict(problem="ct", method="ei", psnr={"test": [35.5, 1.0]}, curve=[[0, 30.0], [250, 35.0]],
                         steps=250, converged=False, train_seconds=60.0, cpu_seconds=60.0)}


def _repo(tmp_path):
    (tmp_path / "docs" / "results").mkdir(parents=True)
    doc = merge_results(None, "ei-table1", {"seed": 0}, ENTRIES, {"ct": {"ei": 36.94, "pinv": 30.24}})
    doc["gaps"] = [dict(problem="ct", gap="EI − A†y", measured=5.5, paper=6.7)]
    (tmp_path / "docs" / "results" / "r.json").write_text(json.dumps(doc))
    (tmp_path / "docs" / "results" / "r_ct.png").write_bytes(b"png")
    page = tmp_path / "docs" / "page.md"
    page.write_text("# Page\n\n<!-- results: docs/results/r.json table -->\nstale\n<!-- /results -->\n\nafter\n")
    readme = tmp_path / "README.md"
    readme.write_text("x\n<!-- results: docs/results/r.json headline -->\n<!-- /results -->\n")
    return page, readme


def test_blocks_are_generated_from_the_file(tmp_path):
    page, readme = _repo(tmp_path)
    assert sync_page(str(page), check=True) == (True, ["docs/results/r.json"])
    assert "stale" in page.read_text()                       # check mode writes nothing
    assert sync_page(str(page)) == (True, ["docs/results/r.json"])
    text = page.read_text()
    assert "stale" not in text and text.endswith("<!-- /results -->\n\nafter\n")
    assert "| ct | EI | 35.50 ± 1.00 | 36.94 | 250 | no | 1.0 | 0.02 |" in text
    assert "| ct | EI − A†y | +5.50 | +6.70 |" in text and "](results/r_ct.png)" in text
    assert sync_page(str(page)) == (False, ["docs/results/r.json"])  # idempotent
    sync_page(str(readme))
    assert ("- ei-table1, ct: EI − A†y **+5.50 dB** (paper +6.70); PSNR (paper) A†y 30.00 (30.24), EI 35.50 (36.94) dB; "
            "not converged: EI\n") in readme.read_text()


def test_a_block_naming_a_missing_file_is_refused(tmp_path, capsys):
    page, _ = _repo(tmp_path)
    page.write_text("<!-- results: docs/results/none.json table -->\n<!-- /results -->\n")
    with pytest.raises(ValueError, match="no such results file"):
        sync_page(str(page))
    from equinet.utils.cli import run_command
    assert run_command(main, [str(page)], prog="results_pages") == 2
    assert "no such results file" in capsys.readouterr().err


def test_check_mode_exit_status(tmp_path, capsys):
    page, readme = _repo(tmp_path)
    assert main(["--check", str(page)]) == 1 and "out of date" in capsys.readouterr().out
    assert main([str(page), str(readme)]) == 0 and main(["--check", str(page), str(readme)]) == 0
    assert os.path.getsize(str(page)) > 0


def test_a_series_of_many_problems_gets_one_headline_bullet_per_gap():
    from equinet.experiments.reproduce.results_pages import COMPACT, headline
    probs = [f"masks{g}" for g in (1, 2, 4, 8, 16)][:COMPACT + 1]
    doc = {"entries": {f"{p}/{m}": {"problem": p, "method": m, "psnr": {"test": [20.0, 1.0]}, "converged": m != "sup"
                                    or p != "masks4"} for p in probs for m in ("moi", "sup")},
           "gaps": [{"problem": p, "gap": "Sup − MOI", "measured": 1.0 + i, "paper": None} for i, p in enumerate(probs)]}
    lines = headline(doc, "multi-operator").splitlines()
    assert lines[0] == "- multi-operator: Sup − MOI (dB) " + ", ".join(f"{p} **+{1.0 + i:.2f}**"
                                                                       for i, p in enumerate(probs))
    assert lines[1] == "- multi-operator: not converged at the step cap: masks4/Sup" and len(lines) == 2
    few = dict(doc, entries={k: e for k, e in doc["entries"].items() if e["problem"] in probs[:COMPACT]})
    assert len(headline(few, "x").splitlines()) == COMPACT  # one bullet per problem up to COMPACT problems


def test_a_recipes_block_compares_several_files_on_one_entry(tmp_path):
    _repo(tmp_path)
    ei = dict(ENTRIES["ct/ei"], curve=[[0, 30.0], [250, 34.8], [500, 35.0]], steps=500, train_seconds=120.0)
    doc = merge_results(None, "ei-table1", {"seed": 0, "n_trans": 3}, {"ct/ei": ei}, {})
    (tmp_path / "docs" / "results" / "r3.json").write_text(json.dumps(doc))
    first = merge_results(None, "ei-table1", {"seed": 0, "n_trans": 1}, ENTRIES, {})
    (tmp_path / "docs" / "results" / "r.json").write_text(json.dumps(first))
    page = tmp_path / "docs" / "recipes.md"
    page.write_text("<!-- results: docs/results/r.json,docs/results/r3.json recipes ct/ei -->\n<!-- /results -->\n")
    assert sync_page(str(page)) == (True, ["docs/results/r.json", "docs/results/r3.json"])
    rows = page.read_text().splitlines()
    assert "steps to 34.00 dB" in rows[1]                                 # the first recipe's final − 1 dB
    assert rows[3] == "| r | 250 | 1.00 | 1.0 | 1.00 | 1.0 | 1.00 | 250 | 1.00 | 35.00 | 35.50 | 250 | no |"
    assert rows[4].startswith("| n_trans 3 | 250 | 1.00 | 1.0 | 1.00 | 0.5 | 0.50 | 250 | 1.00 | 35.00 |")  # its setting
    page.write_text("<!-- results: preset=docs/results/r.json,docs/results/r3.json recipes ct/ei -->\n"
                    "<!-- /results -->\n")
    assert sync_page(str(page))[1] == ["docs/results/r.json", "docs/results/r3.json"]
    assert page.read_text().splitlines()[3].startswith("| preset | 250 |")   # a label given in the block
    page.write_text("<!-- results: docs/results/r.json,docs/results/none.json recipes ct/ei -->\n<!-- /results -->\n")
    with pytest.raises(ValueError, match="no such results file"):
        sync_page(str(page))
