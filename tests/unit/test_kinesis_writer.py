"""PutRecords batching (publisher/kinesis_writer.py), without AWS."""

import pytest

from publisher.kinesis_writer import MAX_BYTES_PER_CALL, Record, chunk_records

pytestmark = pytest.mark.unit


def test_records_are_chunked_by_count_and_size_in_order() -> None:
    small = [Record(str(i), b"x") for i in range(1_201)]
    calls = chunk_records(small)
    assert [len(c) for c in calls] == [500, 500, 201]
    assert [r.partition_key for c in calls for r in c] == [str(i) for i in range(1_201)]
    big = [Record(str(i), b"y" * (1024 * 1024 - 10)) for i in range(12)]
    calls = chunk_records(big)
    assert all(sum(r.size for r in c) <= MAX_BYTES_PER_CALL for c in calls)
    assert sum(len(c) for c in calls) == 12 and len(calls) == 3
