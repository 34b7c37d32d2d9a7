"""The umbrella chart's values.yaml: `global` reaches every subchart; the LocalStack endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from chart_helpers import (
    CHART,
    CI_VALUES,
    PUBLISHER,
    Helm,
    Render,
    deployment_spec,
    env_map,
    named,
    spark_container,
    sparkapp,
)

pytestmark = pytest.mark.chart


@pytest.mark.parametrize("values_file", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_publisher_gets_the_bucket_name(render: Render, values_file: Path) -> None:
    objs = render(values_file, sets=("global.s3.bucketName=bucket-from-values",))
    env = env_map(named(deployment_spec(objs, PUBLISHER)["containers"], "publisher")["env"])
    assert env["S3_BUCKET_NAME"] == "bucket-from-values"
    job_env = env_map(spark_container(sparkapp(objs), "driver")["env"])
    assert job_env["S3_BUCKET_NAME"] == "bucket-from-values"


def test_localstack_switch_alone_renders_and_lints(run_helm: Helm) -> None:
    """`localstack.enabled=false` needs no other value: the default endpoint follows the switch."""
    rendered = run_helm("template", "x", str(CHART), "--set", "localstack.enabled=false")
    assert rendered.returncode == 0, rendered.stderr
    linted = run_helm("lint", "--strict", str(CHART), "--set", "localstack.enabled=false")
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_an_endpoint_naming_localstack_still_fails_loudly_without_it(run_helm: Helm) -> None:
    """A values file that names the LocalStack Service explicitly (ci/kind-values.yaml) with LocalStack
    off points at nothing: rendering fails rather than give the pods a dead endpoint."""
    result = run_helm(
        "template", "x", str(CHART), "-f", str(CHART / "ci" / "kind-values.yaml"), "--set", "localstack.enabled=false"
    )
    assert result.returncode != 0
    assert "localstack.host" in result.stderr
