"""The embedded local defaults: the emulator on 127.0.0.1:4566 with dummy credentials.

``make run``, ``make inspect`` and ``make reconcile`` use them unless the user set the
variables. To use real AWS, export ``AWS_ENDPOINT_URL=`` (empty): the standard credential
chain (profile, SSO, IRSA) then applies and no dummy keys are added.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"


def with_local_defaults(environ: Mapping[str, str], state_dir: str) -> dict[str, str]:
    env = dict(environ)
    env.setdefault("AWS_ENDPOINT_URL", DEFAULT_ENDPOINT)
    if env["AWS_ENDPOINT_URL"].strip():
        env.setdefault("AWS_ACCESS_KEY_ID", "test")
        env.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    env.setdefault("AWS_REGION", "us-east-1")
    env.setdefault("CHECKPOINT_LOCATION", os.path.join(state_dir, "checkpoints"))
    env.setdefault("SPARK_MASTER_URL", "local[*]")
    env.setdefault("PUBLISHER_BIND", "127.0.0.1:8000")
    env.setdefault("JOB_METRICS_BIND", "127.0.0.1:9404")
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return env


def state_dir() -> str:
    return os.path.abspath(os.environ.get("STATE_DIR", ".state"))


def apply_local_defaults() -> dict[str, str]:
    """Put the local defaults into this process's environment (boto3 and pyarrow read it) and return it."""
    os.environ.update(with_local_defaults(os.environ, state_dir()))
    return dict(os.environ)
