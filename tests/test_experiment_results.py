"""The experiment runners' results files: a header, rows appended per finished unit, resumed
rather than repeated, and never mixed with another config's rows."""

import json

import pytest

from experiments.results_file import append, resume


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
