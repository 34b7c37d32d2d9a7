"""The API token from a file (publisher/api_token.py): a change takes effect with the next request, no restart.

The file is laid out and updated the way the kubelet updates a mounted Secret: ``token`` is a
symlink to ``..data/token``, ``..data`` a symlink to a timestamped directory, and an update writes
a new directory and swaps ``..data`` atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from publisher.api_token import TokenFile
from publisher.app import create_app
from publisher.articles import ArticleGenerator
from publisher.kinesis_writer import KinesisWriter
from publisher.metrics import PublisherMetrics
from publisher.routes import AppState
from publisher.service import PublishingLoop

pytestmark = pytest.mark.unit
OLD, NEW = "the-old-token-nobody-guesses", "the-new-token-nobody-guesses"


def mount_secret(directory: Path, token: str, version: int) -> Path:
    """Write ``token`` as the kubelet writes a Secret's key ``token`` (version ``version``); the file's path."""
    data = directory / f"..2026_12_06_{version:02d}"
    data.mkdir()
    (data / "token").write_text(token + "\n")
    (directory / "..data_tmp").symlink_to(data.name)
    os.replace(directory / "..data_tmp", directory / "..data")
    if not (directory / "token").is_symlink():
        (directory / "token").symlink_to("..data/token")
    return directory / "token"


def api(token: TokenFile) -> FlaskClient:
    """The app around a loop never started: an authorised post of an invalid article gets 400, not 401."""
    loop = PublishingLoop(ArticleGenerator(seed=1), KinesisWriter(None, "articles"), rate=1.0, count=0)
    return create_app(
        AppState(loop, lambda: None, PublisherMetrics.create(), "articles", api_token=token)
    ).test_client()


def status(http: FlaskClient, token: str) -> int:
    return http.post("/articles", json={"article_id": "x"}, headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_secret_update_replaces_the_token_with_the_next_request(tmp_path: Path) -> None:
    path = mount_secret(tmp_path, OLD, 1)
    http = api(TokenFile(path))
    assert (status(http, OLD), status(http, NEW)) == (400, 401)
    mount_secret(tmp_path, NEW, 2)
    assert (status(http, OLD), status(http, NEW)) == (401, 400)


def test_a_file_rewritten_in_place_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(OLD)
    token = TokenFile(path)
    assert token.current() == OLD
    path.write_text(NEW)  # same size, same inode, maybe the same mtime tick
    assert token.current() == NEW


def test_a_file_that_loses_its_token_refuses_every_request_until_it_has_one_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = mount_secret(tmp_path, OLD, 1)
    http = api(TokenFile(path))
    mount_secret(tmp_path, "short", 2)
    refused = http.post("/articles", json={}, headers={"Authorization": f"Bearer {OLD}"})
    assert refused.status_code == 503 and "PUBLISHER_API_TOKEN_FILE" in refused.get_json()["error"]
    assert status(http, "short") == 503
    [logged] = [record for record in caplog.records if record.getMessage() == "api_token_file_invalid"]
    assert str(path) in logged.fields["error"] and "at least 16 characters" in logged.fields["error"]
    mount_secret(tmp_path, NEW, 3)
    assert (status(http, OLD), status(http, NEW)) == (401, 400)


def test_a_missing_file_fails_at_start() -> None:
    from common.env import SettingError

    with pytest.raises(SettingError, match="PUBLISHER_API_TOKEN_FILE '/nonexistent/token' cannot be read"):
        TokenFile(Path("/nonexistent/token"))
