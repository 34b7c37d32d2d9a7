"""Every setting of every process, read and checked in one place before ``make run`` starts anything.

``read_all`` parses the publisher's, the job's and the local tools' settings from one
environment into their typed values (``common.settings.PipelineEnv`` remembers each name it
read). A bad value raises ``SettingError`` naming the setting, the value and what is accepted;
``make run`` then exits 2 before any process starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from common.env import SettingError
from common.settings import PipelineEnv
from jobs.settings import JobSettings
from publisher.settings import PublisherSettings

CLUSTERS = ("local", "standalone")


@dataclass(frozen=True)
class OpsSettings:
    """The local tools' own settings."""

    cluster: str  # where `make run` runs the job: local[*] or a standalone master with two workers
    inspect_rows: int  # rows `make inspect` prints per table

    @classmethod
    def read(cls, env: PipelineEnv) -> OpsSettings:
        cluster = env.string("CLUSTER", "local").lower()
        if cluster not in CLUSTERS:
            raise SettingError(f"CLUSTER must be one of {', '.join(CLUSTERS)}, got {cluster!r}")
        return cls(cluster=cluster, inspect_rows=env.integer("INSPECT_ROWS", 10, minimum=1))


@dataclass(frozen=True)
class AllSettings:
    publisher: PublisherSettings
    job: JobSettings
    ops: OpsSettings
    names: tuple[str, ...]  # every setting read, in the order read


def read_all(environ: Mapping[str, str]) -> AllSettings:
    env = PipelineEnv(environ)
    publisher, job, ops = PublisherSettings.read(env), JobSettings.read(env), OpsSettings.read(env)
    return AllSettings(publisher=publisher, job=job, ops=ops, names=tuple(env.names))
