"""The benchmark harness runs end to end at tiny sizes and writes its JSON and table (no timing asserts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_testing import REPO

pytestmark = pytest.mark.integration


def test_bench_harness_smoke(tmp_path: Path) -> None:
    out = tmp_path / "results"
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--only", "publisher,source", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

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
