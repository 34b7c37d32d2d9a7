"""Image builds never race: a build script waits for the same build running elsewhere.

`.ci/run` starts the slow image builds in the background while the other tiers run; a test that
needs one of those images then runs the same build script, which must wait (and say so), not build
a second time in parallel. Exercised with a stand-in engine (`true`: every image "exists"), so the
script gets the lock, finds its image and returns.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from pipeline_testing import wait_until

pytestmark = pytest.mark.images

REPO = Path(__file__).resolve().parents[2]
LOCK_WAIT_SECONDS = 30.0


def lock_held(lock: Path) -> bool:
    return lock.exists() and subprocess.run(["flock", "-n", str(lock), "true"]).returncode != 0


def test_a_build_waits_for_the_same_build_and_then_runs(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "CONTAINER_ENGINE": "true"}
    env.pop("ARTICLE_PIPELINE_BUILD_LOCK", None)
    lock = tmp_path / "article-pipeline" / "locks" / "scripts-build-base-image.lock"
    lock.parent.mkdir(parents=True)
    # another build holds the lock until its stdin closes
    other = subprocess.Popen(["flock", str(lock), "cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: lock_held(lock), LOCK_WAIT_SECONDS, "the other build holds the lock")
        build = subprocess.Popen(
            ["bash", str(REPO / "scripts" / "build-base-image.sh")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)  # long enough for a script that ignored the lock to finish
        assert build.poll() is None, f"the build ran beside the other one: {build.communicate()}"
    finally:
        assert other.stdin is not None
        other.stdin.close()
        other.wait(timeout=10)
    out, err = build.communicate(timeout=LOCK_WAIT_SECONDS)
    assert build.returncode == 0, err
    assert "waiting for the same build running elsewhere" in err
    assert "exists" in out, out
    assert not lock_held(lock), "the lock outlived the build"
