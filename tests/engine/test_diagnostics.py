"""The diagnostics table read back from metrics.json (g2da_plugin/engine/diagnostics.py)."""

import json

import pytest

from g2da_plugin.engine.diagnostics import DIAGNOSTICS, diagnostics_table, read_metrics
from g2da_plugin.utils.errors import InputError
from tests.helpers import table_rows


def write_metrics(folder, rows):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(folder)


def test_picks_first_middle_last_and_dashes_what_is_not_logged(tmp_path):
    rows = [{"iteration": i, "loss_cls": 1.0, "node_feature_norm": 10.0 + i, "ot_value": 0.5 / (i + 1)}
            for i in range(0, 50, 10)]  # iterations 0, 10, 20, 30, 40
    run = write_metrics(tmp_path / "run", rows + [{"iteration": 45, "loss_cls": 1.0}])  # no diagnostics: skipped
    table = table_rows(diagnostics_table([run], points=3))
    assert [row[1] for row in table] == ["1", "21", "41"]  # 1-based iterations 0, 20, 40
    assert table[1][2:] == ["–", "30", "0.02381", "–", "–"]
    assert len(table[0]) == 2 + len(DIAGNOSTICS)


def test_a_resumed_run_keeps_the_last_row_of_an_iteration(tmp_path):
    run = write_metrics(tmp_path / "run", [{"iteration": 0, "ot_value": 1.0}, {"iteration": 1, "ot_value": 2.0},
                                           {"iteration": 1, "ot_value": 3.0}])
    assert [row["ot_value"] for row in read_metrics(run)] == [1.0, 3.0]


def test_bad_runs_get_one_line(tmp_path):
    with pytest.raises(InputError, match="metrics.json not found"):
        diagnostics_table([str(tmp_path / "nothing")])
    run = write_metrics(tmp_path / "b", [{"iteration": 0, "loss_cls": 1.0}])
    with pytest.raises(InputError, match="logs none of"):
        diagnostics_table([run])
