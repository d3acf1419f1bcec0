"""The shared runner: results in job order and identical for any worker count, worker errors re-raised with the
worker's traceback, tables written atomically with the configuration and versions."""
import csv
import json
import os

import pytest
import torch

from equinet.experiments.runner import Task, WorkerError, prepare_output, run_jobs, seeded, write_table
from equinet.utils.seeding import derived_seed


class RandomSum(Task):
    """Draws from torch's global RNG (seeded per job) and reports progress: a stand-in for model initialisation."""

    def __init__(self, seed):
        self.seed = seed

    def prepare(self):
        return {"offset": 10.0}

    def run(self, job, state, progress):
        with seeded(derived_seed(self.seed, job)):
            value = float(torch.rand(3).sum()) + state["offset"]
        progress.update(2, postfix=f"job {job}")
        if job == 99:
            raise ValueError("job 99 is bad")
        return {"job": job, "value": value, "threads": torch.get_num_threads()}


class Bar:
    desc = "test"

    def __init__(self):
        self.steps = 0

    def update(self, n=1, postfix=None):
        self.steps += n


def test_results_are_in_job_order_and_do_not_depend_on_the_worker_count():
    jobs = [3, 1, 4, 1, 5]
    state = torch.get_rng_state()
    bar1, bar2 = Bar(), Bar()
    serial = run_jobs(RandomSum(0), jobs, workers=1, progress=bar1)
    parallel = run_jobs(RandomSum(0), jobs, workers=2, threads=1, progress=bar2)
    assert [r["job"] for r in serial] == jobs
    assert [(r["job"], r["value"]) for r in serial] == [(r["job"], r["value"]) for r in parallel]
    assert serial[1]["value"] == serial[3]["value"] and serial[0]["value"] != serial[1]["value"]
    assert {r["threads"] for r in parallel} == {1}
    assert bar1.steps == bar2.steps == 2 * len(jobs)
    assert torch.equal(torch.get_rng_state(), state)  # seeded() left the caller's random state alone


def test_a_failing_job_stops_the_run_with_the_workers_traceback():
    with pytest.raises(ValueError, match="job 99 is bad") as info:
        run_jobs(RandomSum(0), [1, 99, 2, 3], workers=2)
    assert isinstance(info.value.__cause__, WorkerError) and "Traceback" in str(info.value.__cause__)
    with pytest.raises(TypeError, match="Task"):
        run_jobs(lambda job: job, [1])
    with pytest.raises(ValueError, match="workers"):
        run_jobs(RandomSum(0), [1], workers=0)


def test_write_table(tmp_path):
    out = prepare_output(str(tmp_path / "a" / "b"))
    rows = [{"x": 1, "y": 0.5, "extra": "kept in json"}, {"x": 2, "y": None}]
    write_table(out, rows, fields=("x", "y"), config={"n": 2}, title="T", wall_seconds=1.5, note="hi")
    with open(os.path.join(out, "table.csv")) as f:
        assert list(csv.reader(f)) == [["x", "y"], ["1", "0.5"], ["2", ""]]
    with open(os.path.join(out, "table.json")) as f:
        doc = json.load(f)
    assert doc["config"] == {"n": 2} and doc["wall_seconds"] == 1.5 and doc["note"] == "hi"
    assert doc["rows"][0]["extra"] == "kept in json" and doc["versions"]["torch"] == torch.__version__
    with open(os.path.join(out, "table.md")) as f:
        assert f.read().startswith("# T\n\n| x | y |")
    assert sorted(os.listdir(out)) == ["table.csv", "table.json", "table.md"]  # no temporaries, no probe file
