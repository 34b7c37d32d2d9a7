"""A checkpoint belongs to one stream: a stream recreated under the same name is refused, and
``make run`` drops the checkpoints of an earlier run when it starts a new, empty moto_server."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.kinesis.client import KinesisSourceError
from jobs.kinesis.planner import check_same_stream
from jobs.kinesis.positions import TRIM_HORIZON, new_offset, plan_next_offset
from ops.run import discard_stale_checkpoints

pytestmark = pytest.mark.unit
CREATED = 1_700_000_000.125


def test_the_creation_time_travels_with_every_planned_offset() -> None:
    offset = new_offset(TRIM_HORIZON, 100, CREATED)
    assert plan_next_offset(offset, {}, [], 100).stream_created == CREATED


def test_same_stream_passes_and_offsets_without_creation_time_are_not_checked() -> None:
    check_same_stream(new_offset(TRIM_HORIZON, 100, CREATED), "articles", CREATED, "/ckpt/articles")
    untimed = new_offset(TRIM_HORIZON, 100)  # an offset that carries no creation time
    check_same_stream(untimed, "articles", CREATED + 60, "/ckpt/articles")


def test_a_recreated_stream_is_refused_with_what_to_do() -> None:
    offset = new_offset(TRIM_HORIZON, 100, CREATED)
    with pytest.raises(KinesisSourceError, match=r"'articles'.*deleted and recreated.*delete /ckpt/articles"):
        check_same_stream(offset, "articles", CREATED + 3600, "/ckpt/articles")


def test_make_run_discards_only_checkpoints_under_its_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inside = state / "checkpoints"
    (inside / "articles").mkdir(parents=True)
    assert discard_stale_checkpoints(str(inside), str(state))
    assert not inside.exists()
    assert not discard_stale_checkpoints(str(inside), str(state)), "nothing left to discard"
    outside = tmp_path / "elsewhere"
    (outside / "articles").mkdir(parents=True)
    assert not discard_stale_checkpoints(str(outside), str(state))
    assert (outside / "articles").is_dir(), "a location the user chose outside the state dir is left alone"
