"""What Spark keeps in a streaming query's ``<checkpoint>/metadata`` file."""

from __future__ import annotations

import json
import os


def checkpoint_query_id(checkpoint_dir: str) -> str:
    """The query id Spark keeps in ``<checkpoint>/metadata``: stable across restarts, new with a new checkpoint.

    Parameters
    ----------
    checkpoint_dir : str
        The query's checkpoint directory (local), after the query's first start wrote it.

    Returns
    -------
    str
        The ``id`` of the file's first line, a UUID.
    """
    with open(os.path.join(checkpoint_dir, "metadata"), encoding="utf-8") as handle:
        return str(json.loads(handle.readline())["id"])
