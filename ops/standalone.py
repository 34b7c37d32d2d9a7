"""A Spark standalone cluster from the pip pyspark: one master and N workers on 127.0.0.1.

The job runs as on a real cluster (a master and two workers by default, ``make run
CLUSTER=standalone``), without downloads: ``spark-class`` ships inside the pyspark wheel. The job
is submitted with ``spark-submit``; its Python code reaches the executors through the installed
package (the workers run this same virtual environment).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.request import urlopen

from ops.processes import Child, start, wait_for_http


@dataclass(frozen=True)
class StandaloneCluster:
    master_url: str
    ui_url: str
    children: list[Child]


def spark_home() -> str:
    from pyspark.find_spark_home import _find_spark_home

    return _find_spark_home()


def alive_workers(ui_url: str) -> int:
    try:
        with urlopen(f"{ui_url}/json/", timeout=2) as response:
            return int(json.load(response).get("aliveworkers", 0))
    except (OSError, ValueError):
        return 0


def start_cluster(
    env: Mapping[str, str], log_dir: str, workers: int = 2, timeout_seconds: float = 90
) -> StandaloneCluster:
    """Start the master and ``workers`` workers (1 core, 1 GiB each); wait until all registered."""
    port = env.get("SPARK_MASTER_PORT", "7077")
    ui_port = env.get("SPARK_MASTER_WEBUI_PORT", "8080")
    spark_class = os.path.join(spark_home(), "bin", "spark-class")
    master_url = f"spark://127.0.0.1:{port}"
    ui_url = f"http://127.0.0.1:{ui_port}"
    children = [
        start(
            "spark-master",
            [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                port,
                "--webui-port",
                ui_port,
            ],
            env,
            log_dir,
        )
    ]
    wait_for_http(ui_url, timeout_seconds, children[0])
    for index in range(workers):
        children.append(
            start(
                f"spark-worker-{index + 1}",
                [
                    spark_class,
                    "org.apache.spark.deploy.worker.Worker",
                    master_url,
                    "--host",
                    "127.0.0.1",
                    "--cores",
                    "1",
                    "--memory",
                    "1g",
                    "--webui-port",
                    "0",
                    "--work-dir",
                    os.path.join(log_dir, f"worker-{index + 1}"),
                ],
                env,
                log_dir,
            )
        )
    deadline = time.monotonic() + timeout_seconds
    while alive_workers(ui_url) < workers:
        for child in children:
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with code {child.process.returncode}; see {child.log_path}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{workers} Spark workers did not register with {master_url} in {timeout_seconds:.0f} s")
        time.sleep(0.5)
    return StandaloneCluster(master_url, ui_url, children)


def submit_command(master_url: str, job_file: str) -> list[str]:
    """``spark-submit`` of the job to the standalone master (executors use this interpreter).

    The driver JVM starts here, before the job's code: the Delta and S3A jars go on its class path now.
    """
    from jobs.spark_session import class_path_options

    class_path = [
        argument for name, value in class_path_options().items() for argument in ("--conf", f"{name}={value}")
    ]
    return [
        os.path.join(spark_home(), "bin", "spark-submit"),
        "--master",
        master_url,
        "--conf",
        "spark.executor.cores=1",
        "--conf",
        "spark.executor.memory=768m",
        "--conf",
        "spark.cores.max=2",
        "--conf",
        f"spark.pyspark.python={sys.executable}",
        *class_path,
        job_file,
    ]
