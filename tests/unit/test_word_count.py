"""The word-count rule on its edge cases."""

import pytest

from common.contract import count_words

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("   \n\t ", 0),
        ("... !!! -- ,,, ???", 0),
        ("Hello, world!", 2),
        ("don't stop", 2),
        ("rock'n'roll", 1),
        ("rock’n’roll", 1),
        ("'quoted' words", 2),
        ("well-known fact", 3),
        ("snake_case_name", 3),
        ("3.14 is pi", 4),
        ("Ünïcödé façade naïve", 3),
        ("東京タワー は 高い", 3),
        ("Здравствуй, мир", 2),
        ("emoji 🎉 between 🎉 words", 3),
        ("line\nbreaks\n\nand\tparagraphs", 4),
        ("trailing apostrophe' and 'leading", 4),
    ],
)
def test_word_count_rule(text: str, expected: int) -> None:
    assert count_words(text) == expected
