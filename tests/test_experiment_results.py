"""The experiment runners' results files: a header, rows appended per finished unit, resumed
rather than repeated, and never mixed with another config's rows."""

import json

import pytest

from experiments.results_file import append, more_seeds, resume


def test_a_results_file_resumes_refuses_another_config_and_starts_over_when_fresh(tmp_path):
    out = tmp_path / "runs.jsonl"
    config = {"name": "tiny", "budget": 3}
    head, rows = resume(out, config, False, lambda: {"config": config, "note": "first"})
    assert head["note"] == "first" and rows == []
    append(out, [{"seed": 0, "values": [1.0]}, {"seed": 1, "values": [2.0]}])
    head, rows = resume(out, config, False, lambda: pytest.fail("a file that exists is resumed, not rewritten"))
    assert head["note"] == "first" and [r["seed"] for r in rows] == [0, 1]
    with pytest.raises(SystemExit, match="another configuration"):
        resume(out, {"name": "tiny", "budget": 5}, False, dict)
    # A runner may accept changed configs that keep its rows comparable.
    _, rows = resume(out, {"name": "tiny", "budget": 3, "seeds": [2]}, False, dict, compatible=lambda old, new: old["budget"] == new["budget"])
    assert len(rows) == 2
    head, rows = resume(out, config, True, lambda: {"config": config, "note": "again"})
    assert head["note"] == "again" and rows == []
    assert [json.loads(line)["note"] for line in out.read_text().splitlines()] == ["again"]


def test_a_config_run_on_more_seeds_extends_its_file_and_its_header_says_so(tmp_path):
    out = tmp_path / "runs.jsonl"
    config = {"name": "tiny", "budget": 3, "seeds": [0, 1], "description": "two seeds"}
    resume(out, config, False, lambda: {"config": config, "note": "first"})
    append(out, [{"seed": 0, "values": [1.0]}])
    wider = {**config, "seeds": [0, 1, 2, 3], "description": "four seeds"}
    head, rows = resume(out, wider, False, dict, compatible=more_seeds)
    assert rows == [{"seed": 0, "values": [1.0]}] and head["note"] == "first"
    assert head["config"] == wider and len(head["extended"]) == 1
    stored = [json.loads(line) for line in out.read_text().splitlines()]
    assert stored[0] == head and stored[1:] == rows
    # Resuming the extended config again changes nothing.
    assert resume(out, wider, False, dict, compatible=more_seeds)[0] == head
    for other in ({**wider, "seeds": [1, 2, 3]}, {**wider, "budget": 5}):
        assert not more_seeds(wider, other)
        with pytest.raises(SystemExit, match="another configuration"):
            resume(out, other, False, dict, compatible=more_seeds)
    assert [json.loads(line) for line in out.read_text().splitlines()] == stored


def test_runners_sharing_a_file_wait_for_each_other_when_one_extends_its_header(tmp_path):
    """A runner that extends the header waits while another holds the file (appending a
    row), then rewrites the file with that row in it: the row is neither lost nor put after
    the waiting runner's own. (Without the lock the second runner, started first, would
    rewrite and append before the row came.)"""
    import subprocess
    import sys
    import time
    from pathlib import Path

    from experiments.results_file import exclusive

    out = tmp_path / "runs.jsonl"
    config = {"name": "tiny", "budget": 3, "seeds": [0, 1], "description": "two seeds"}
    resume(out, config, False, lambda: {"config": config})
    append(out, [{"seed": 0}])
    wider = {**config, "seeds": [0, 1, 2]}
    code = ("import sys; from pathlib import Path; from experiments.results_file import append, more_seeds, resume; "
            f"out = Path({str(out)!r}); resume(out, {wider!r}, False, dict, compatible=more_seeds); append(out, [{{'seed': 2}}])")
    root = Path(__file__).resolve().parent.parent
    with exclusive(out):
        runner = subprocess.Popen([sys.executable, "-c", code], cwd=root)
        time.sleep(1.5)
        assert runner.poll() is None  # waiting for the lock
        with out.open("a") as f:
            f.write(json.dumps({"seed": 1}) + "\n")
    assert runner.wait(timeout=60) == 0
    stored = [json.loads(line) for line in out.read_text().splitlines()]
    assert stored[0]["config"] == wider and len(stored[0]["extended"]) == 1
    assert stored[1:] == [{"seed": 0}, {"seed": 1}, {"seed": 2}]
