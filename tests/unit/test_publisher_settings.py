"""The publisher's own settings (publisher/settings.py): graceful timeout and API token (or its file).

Checks run across every process's settings (defaults, bad values, durations) are in test_settings.py.
"""

from pathlib import Path

import pytest

from common.env import SettingError
from publisher.settings import PublisherSettings

pytestmark = pytest.mark.unit


def test_the_graceful_timeout_is_whole_seconds_of_at_least_two() -> None:
    assert PublisherSettings.from_env({}).graceful_timeout.seconds == 20
    assert PublisherSettings.from_env({"PUBLISHER_GRACEFUL_TIMEOUT": "1 minute"}).graceful_timeout.seconds == 60
    for bad in ("1 second", "2500ms", "20"):
        with pytest.raises(SettingError, match="PUBLISHER_GRACEFUL_TIMEOUT"):
            PublisherSettings.from_env({"PUBLISHER_GRACEFUL_TIMEOUT": bad})


def test_a_short_token_is_refused_naming_the_setting() -> None:
    token = "a-token-nobody-guesses"
    with pytest.raises(SettingError, match="PUBLISHER_API_TOKEN"):
        PublisherSettings.from_env({"PUBLISHER_API_TOKEN": "short"})
    assert PublisherSettings.from_env({"PUBLISHER_API_TOKEN": token}).api_token == token
    assert PublisherSettings.from_env({}).api_token is None


def test_the_token_can_come_from_a_file_stripped_of_surrounding_whitespace(tmp_path: Path) -> None:
    token = "a-token-nobody-guesses"
    path = tmp_path / "token"
    path.write_text(f"  {token}\n")
    settings = PublisherSettings.from_env({"PUBLISHER_API_TOKEN_FILE": str(path)})
    assert (settings.api_token, settings.api_token_file) == (token, path)
    assert PublisherSettings.from_env({"PUBLISHER_API_TOKEN": token}).api_token_file is None


def test_the_token_and_its_file_together_are_refused_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("a-token-nobody-guesses")
    env = {"PUBLISHER_API_TOKEN": "another-token-nobody-guesses", "PUBLISHER_API_TOKEN_FILE": str(path)}
    with pytest.raises(SettingError, match="PUBLISHER_API_TOKEN or PUBLISHER_API_TOKEN_FILE, not both"):
        PublisherSettings.from_env(env)


@pytest.mark.parametrize(
    ("content", "why"),
    [(None, "No such file or directory"), ("directory", "Is a directory"), (" short \n", "at least 16 characters")],
)
def test_a_token_file_without_a_valid_token_is_refused_naming_the_setting_and_path(
    tmp_path: Path, content: str | None, why: str
) -> None:
    path = tmp_path / "token"
    if content == "directory":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    with pytest.raises(SettingError, match="PUBLISHER_API_TOKEN_FILE") as refused:
        PublisherSettings.from_env({"PUBLISHER_API_TOKEN_FILE": str(path)})
    assert str(path) in str(refused.value) and why in str(refused.value)
    assert "short" not in str(refused.value), "the token itself is never echoed"
