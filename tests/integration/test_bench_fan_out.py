"""Figure 8 (polling vs enhanced fan-out on kinesis-local) runs end to end at a tiny size (no timing asserts)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_testing import REPO

pytestmark = pytest.mark.integration

KINESIS_LOCAL = REPO / ".tools" / "kinesis-local" / "node_modules" / "kinesis-local" / "main.js"


def test_bench_fan_out_smoke(tmp_path: Path) -> None:
    if not KINESIS_LOCAL.exists() and shutil.which("npm") is None:
        pytest.skip("kinesis-local is not installed and npm is missing: run scripts/install-kinesis-local.sh")
    out = tmp_path / "results"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--only", "fan_out", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    doc = json.loads((out / "fan_out.json").read_text())
    assert {"machine", "config", "result", "generated_at"} <= set(doc)
    assert "kinesis-local" in doc["machine"]["emulator"] and doc["machine"]["load_avg_at_start"]
    result = doc["result"]
    per_shard = result["records_per_shard"]
    assert set(result["drain_summary"]) == {"polling", "fan_out"}

    # Drain: each mode read every shard's backlog, every record exactly once.
    modes_drained = {d["mode"] for d in result["drains"]}
    assert modes_drained == {"polling", "fan_out"}
    for drain in result["drains"]:
        assert drain["reconciled"], drain["mode"]
        assert len(drain["shards"]) == result["shards"]
        for shard in drain["shards"]:
            assert shard["expected"] == shard["read"] == per_shard, (drain["mode"], shard)
            assert shard["duplicates"] == shard["missing"] == shard["unexpected"] == 0
            assert shard["records_per_s"] > 0
    polling, fan_out = (result["drain_summary"][m]["calls"] for m in ("polling", "fan_out"))
    assert polling["get_records_calls"] >= polling["reads"] > 0 and polling["subscribe_calls"] == 0
    assert fan_out["subscribe_calls"] >= fan_out["reads"] > 0 and fan_out["get_records_calls"] == 0

    # Latency: both modes read every published record once, latencies measured for each.
    assert result["latency"], "no latency phase"
    for phase in result["latency"]:
        assert phase["published"] > 0
        assert {m["mode"] for m in phase["modes"]} == {"polling", "fan_out"}
        for mode in phase["modes"]:
            assert mode["reconciled"], mode["mode"]
            assert mode["expected"] == mode["read"] == phase["published"]
            assert len(mode["latencies"]) == phase["published"]
            assert mode["latency_s"]["p50"] > 0

    assert result["aws_published"]["fan_out"]["read_throughput"] and result["emulator_note"]
    table = (out / "results.md").read_text()
    assert "8. Read modes" in table and "published figures" in table
    assert (out / "fan_out.png").stat().st_size > 0
