"""The publisher's own settings (publisher/settings.py): graceful timeout and API token.

Checks run across every process's settings (defaults, bad values, durations) are in test_settings.py.
"""

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
