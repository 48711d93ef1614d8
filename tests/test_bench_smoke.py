"""The benchmarks run to the end on tiny inputs (their figures are for bench/README.md, not here)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

TINY = {
    "coding_scale.py": ["--answers", "1500", "--baseline", "15", "--runs", "1", "--no-pg"],
    "app_latency.py": ["--questions", "12", "--starts", "1", "--cases", "10", "--no-pg"],
    "many_agents.py": ["--agents", "2", "--cases", "12", "--baseline-cases", "3", "--no-pg"],
    "summaries_scale.py": ["--interviews", "300", "--formats", "csv,json"],
    "adaptation.py": ["--writers", "part_e", "--steps", "0,20", "--evaluate", "30", "--others", "400", "--timed", "0"],
}


def test_every_benchmark_runs_on_tiny_inputs() -> None:
    env = {**os.environ, "PYTHONUTF8": "1"}
    running = {
        script: subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / script), *arguments],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for script, arguments in TINY.items()
    }
    outputs = {script: process.communicate(timeout=300)[0] for script, process in running.items()}
    for script, process in running.items():
        assert process.returncode == 0, f"{script} failed:\n{outputs[script]}"
    assert "codes identical to one-by-one coding: 15/15" in outputs["coding_scale.py"]
    assert "all 12 answers in the store" in outputs["app_latency.py"]
    assert "every case claimed once, every answer there" in outputs["many_agents.py"]
    assert "export --format json" in outputs["summaries_scale.py"]
    assert "pooled over writers" in outputs["adaptation.py"]
