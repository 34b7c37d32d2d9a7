"""The text of a failed query's error as the JVM tells it: the chain of causes pyspark keeps."""

from __future__ import annotations

from typing import Any

# failure_text: at most this many lines of causes; the stack-trace lines that name a cause.
_CAUSE_LINES = 60
_CAUSE_PREFIXES = ("Caused by:", "Suppressed:")


def failure_text(error: BaseException) -> str:
    """The error and its chain of causes: where 'Connection refused', a 500 or the endpoint show.

    A failed query's exception carries only Spark's summary (e.g. ``TASK_WRITE_FAILED``) in its
    message. pyspark keeps each cause as a captured exception (``_cause``) that holds either the
    JVM exception (``_origin``) or only the JVM's stack trace text (``_stackTrace``, whose "Caused
    by:" lines name the S3 or Kinesis error): both are read.

    Parameters
    ----------
    error : BaseException
        What the query raised (``StreamingQuery.exception()``) or what starting it raised.

    Returns
    -------
    str
        The error's message, then each cause's (and the causes its stack traces name), one per
        line, at most ``_CAUSE_LINES`` of them.
    """
    parts: list[str] = []
    current: Any = error
    while current is not None and len(parts) < _CAUSE_LINES:
        parts.append(str(current))
        trace = getattr(current, "_stackTrace", None)
        if isinstance(trace, str):
            parts.extend(line.strip() for line in trace.splitlines() if line.lstrip().startswith(_CAUSE_PREFIXES))
        java = getattr(current, "_origin", None)
        while java is not None and len(parts) < _CAUSE_LINES:
            try:
                parts.append(str(java.toString()))
                java = java.getCause()
            except Exception:  # the JVM is gone; what we have is enough
                break
        current = getattr(current, "_cause", None)
    return "\n".join(parts[:_CAUSE_LINES])
