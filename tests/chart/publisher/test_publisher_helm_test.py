"""publisher/templates/tests/pod-test-health.yaml: the `helm test` pod."""

from __future__ import annotations

import pytest
from chart_helpers import (
    PUBLISHER,
    Manifest,
    Render,
    by_kind,
    env_map,
    one,
)

pytestmark = pytest.mark.chart


def test_helm_test_hook(kind_manifests: list[Manifest]) -> None:
    tests = [
        o for o in by_kind(kind_manifests, "Pod") if o["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"
    ]
    assert len(tests) == 1
    pod = tests[0]
    policy = pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"].split(",")
    assert "hook-succeeded" in policy and "before-hook-creation" in policy
    c = pod["spec"]["containers"][0]
    env = env_map(c["env"])
    service = one(kind_manifests, "Service", PUBLISHER)
    assert env["PUBLISHER_URL"] == f"http://{PUBLISHER}:{service['spec']['ports'][0]['port']}"
    assert {"KINESIS_STREAM_NAME", "S3_BUCKET_NAME", "AWS_ENDPOINT_URL"} <= set(env)
    assert c["command"] == ["python3", "/scripts/helm_test.py"]
    assert pod["spec"]["restartPolicy"] == "Never"


def test_helm_test_checks_the_token_without_holding_it(render: Render) -> None:
    """With `apiToken.enabled` the test pod expects `POST /articles` without a token to answer 401
    (a token is configured: the publisher read its file), 403 otherwise; it never mounts the token."""
    for enabled, expected in ((False, "false"), (True, "true")):
        sets = ("publisher.apiToken.enabled=true", "publisher.apiToken.value=a-token-of-32-characters-for-test")
        objs = render(sets=sets if enabled else ())
        pod = next(
            o for o in by_kind(objs, "Pod") if o["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"
        )
        env = env_map(pod["spec"]["containers"][0]["env"])
        assert env["API_TOKEN_EXPECTED"] == expected
        assert not [e for e in env if "TOKEN" in e and e != "API_TOKEN_EXPECTED"]
        assert not [v for v in pod["spec"]["volumes"] if "secret" in v]
