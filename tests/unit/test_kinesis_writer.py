"""PutRecords batching and answers (publisher/kinesis_writer.py), without AWS: a scripted client stands in."""

from typing import Any

import pytest

from publisher.kinesis_writer import MAX_BYTES_PER_CALL, KinesisWriter, Record, chunk_records

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


class ScriptedKinesis:
    """Answers PutRecords with ``answers`` in turn (a callable builds an answer from the call), then accepts all."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def put_records(self, **call: Any) -> Any:
        self.calls += 1
        if self.answers:
            return self.answers.pop(0)
        return {"Records": [{"ShardId": "shardId-0", "SequenceNumber": str(n)} for n, _ in enumerate(call["Records"])]}


@pytest.mark.parametrize(
    "answer",
    [{}, {"Records": None}, {"Records": [{"ShardId": "shardId-0", "SequenceNumber": "1"}]}],
    ids=["no-records", "records-null", "fewer-results"],
)
def test_an_answer_without_one_result_per_record_fails_the_call_and_is_retried(answer: dict[str, Any]) -> None:
    client = ScriptedKinesis(answer)
    writer = KinesisWriter(client, "articles", sleep=lambda _: None)
    records = [Record(str(i), b"x") for i in range(3)]
    assert writer.put(records) == [] and client.calls == 2
    assert writer.stats.published == 3 and writer.stats.retried == 3
    assert writer.stats.last_error_code == "kinesis_error" and "for 3 records" in (writer.stats.last_error or "")


def test_an_answer_without_results_past_the_deadline_leaves_every_record_unsent() -> None:
    writer = KinesisWriter(ScriptedKinesis({}, {}), "articles", retry_deadline_seconds=0, sleep=lambda _: None)
    records = [Record(str(i), b"x") for i in range(2)]
    assert writer.put(records) == records and writer.stats.published == 0
