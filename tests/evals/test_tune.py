"""Weights are never fitted on the held-out test questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals import tune

TEST_FILE = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "bbc_test.jsonl"


def test_tune_refuses_the_held_out_test_set(capsys):
    with pytest.raises(SystemExit) as stopped:
        tune.main([str(TEST_FILE)])
    assert stopped.value.code == 2
    assert "held-out test questions" in capsys.readouterr().err
