"""Fault injection: a spec parsed strictly, real botocore errors, and a reader that still reads everything once."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from fake_kinesis import FakeClock, FakeShard, data_of

from common.aws import client as aws_client
from common.env import SettingError
from common.settings import AwsSettings
from jobs.kinesis.client import KinesisClient
from jobs.kinesis.faults import FaultSpec, FaultyKinesisClient
from jobs.kinesis.positions import TRIM_HORIZON
from jobs.kinesis.shard_reader import ReadLimits, ShardReader

pytestmark = pytest.mark.unit


def test_fault_spec_parses_and_rejects_nonsense() -> None:
    spec = FaultSpec.parse("throttle=0.3, server_error=0.1,expire_iterator=0.1,seed=7")
    assert spec.enabled and spec.seed == 7 and spec.rate("throttle") == 0.3 and spec.rate("access_denied") == 0
    assert not FaultSpec.parse("").enabled and not FaultSpec.parse(None).enabled
    for bad in ("throttle", "throttle=2", "lightning=0.1", "throttle=x"):
        with pytest.raises(SettingError, match="faultInjection"):
            FaultSpec.parse(bad)


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("server_error", "InternalFailure", 500),
        ("expire_iterator", "ExpiredIteratorException", 400),
        ("access_denied", "AccessDeniedException", 400),
    ],
)
def test_injected_faults_are_real_botocore_errors(kind: str, code: str, status: int) -> None:
    real = aws_client("kinesis", AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:9"))
    faulty = FaultyKinesisClient(real, FaultSpec(((kind, 1.0),), seed=1))
    with pytest.raises(ClientError) as raised:
        faulty.get_records(ShardIterator="x", Limit=1)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    if kind == "expire_iterator":
        assert isinstance(raised.value, real.exceptions.ExpiredIteratorException)
    assert faulty.injected == {kind: 1}


def test_calls_other_than_reads_are_never_failed() -> None:
    shard = FakeShard()
    faulty = FaultyKinesisClient(shard, FaultSpec((("throttle", 1.0), ("access_denied", 1.0)), seed=1))
    client = KinesisClient(faulty, "stream", 1.0)
    assert [s.shard_id for s in client.list_shards()] == ["shardId-0"]
    assert client.stream_summary().retention_ms == 24 * 3_600_000
    assert faulty.injected == {}


def test_throttle_faults_are_both_throttling_codes_and_seeded() -> None:
    real = aws_client("kinesis", AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:9"))

    def codes(seed: int) -> list[str]:
        faulty = FaultyKinesisClient(real, FaultSpec((("throttle", 1.0),), seed=seed), salt="s")
        found = []
        for _ in range(20):
            with pytest.raises(ClientError) as raised:
                faulty.get_shard_iterator(StreamName="s", ShardId="x", ShardIteratorType="LATEST")
            found.append(raised.value.response["Error"]["Code"])
        return found

    assert set(codes(5)) == {"ProvisionedThroughputExceededException", "LimitExceededException"}
    assert codes(5) == codes(5), "a seed makes the faults reproducible"


def test_a_fake_shard_under_random_faults_still_reads_everything_once() -> None:
    shard = FakeShard()
    for n in range(50):
        shard.put(b"r%d" % n)
    faulty = FaultyKinesisClient(
        shard, FaultSpec((("expire_iterator", 0.2), ("server_error", 0.1), ("throttle", 0.3)), seed=7)
    )
    clock = FakeClock()
    got: list[bytes] = []
    position = TRIM_HORIZON
    while len(got) < 50:
        client = KinesisClient(faulty, "stream", 60.0, sleep=clock.sleep, clock=clock)
        shard_reader = ShardReader(client, "s", ReadLimits(7, 5.0))
        records, end = shard_reader.read(position, None)
        got += data_of(records)
        position = end.position
    assert got == [b"r%d" % n for n in range(50)]
    assert sum(faulty.injected.values()) > 5
