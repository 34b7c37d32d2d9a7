"""The benchmark harness runs end to end at tiny sizes and writes its JSON and table (no timing asserts).

Figure 8 (polling vs enhanced fan-out) runs on kinesis-local, the others on moto.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_testing import REPO

from ops.kinesis_local import PACKAGE

pytestmark = pytest.mark.integration


def run_smoke(figures: str, tmp_path: Path, timeout: int) -> Path:
    """``python -m bench --smoke --only <figures>``; the folder it wrote its results to."""
    out = tmp_path / "results"
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--only", figures, "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return out


def test_bench_harness_smoke(tmp_path: Path) -> None:
    out = run_smoke("publisher,source", tmp_path, 170)

    publisher = json.loads((out / "publisher.json").read_text())
    assert {"machine", "config", "result", "generated_at"} <= set(publisher)
    assert publisher["machine"]["cores"] >= 1 and "moto" in publisher["machine"]["emulator"]
    result = publisher["result"]
    for key in ("writer_records_per_s", "raw_put_records_per_s", "put_record_per_s"):
        assert result[key] > 0, key
    assert result["ratio_writer_vs_raw"] > 0 and result["runs"] == 1 and result["records"] > 0

    source = json.loads((out / "source_overhead.json").read_text())["result"]
    assert source["source_records_per_s"] > 0 and source["boto3_records_per_s"] > 0 and source["ratio"] > 0
    assert source["source_runs"][0]["records"] == source["records"] > 0
    assert source["boto3_runs"][0]["records"] == source["records"]

    table = (out / "results.md").read_text()
    assert "Publisher" in table and "Source overhead" in table


def test_bench_fan_out_smoke(tmp_path: Path) -> None:
    if not (PACKAGE / "main.js").exists() and shutil.which("npm") is None:
        pytest.skip("kinesis-local is not installed and npm is missing: run scripts/install-kinesis-local.sh")
    out = run_smoke("fan_out", tmp_path, 240)

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
