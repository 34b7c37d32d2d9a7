"""The word-count rule, in one place.

A word is a maximal run of Unicode letters and digits; an apostrophe (' or ’) between two
such runs joins them ("don't", "rock'n'roll" are one word each). Everything else separates
words: spaces, punctuation, hyphens ("well-known" is two words), underscores, emoji. So an
empty or punctuation-only body has 0 words, "3.14" has 2, and scripts written without
spaces count each unbroken run once ("東京タワー" is 1).
"""
from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def count_words(text: str) -> int:
    """Number of words in ``text`` under the rule above."""
    return sum(1 for _ in _WORD.finditer(text))
