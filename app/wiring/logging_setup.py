"""JSON logs on stdout, one object per line, for Fluent Bit to ship as they are.

Every request writes one access line, so the line's cost is on the hot path. The stdlib's
per-record extras that no line carries are switched off (the logging HOWTO's "Optimization"
flags: caller frame lookup, thread, process and multiprocessing names), and the timestamp is
ISO 8601 in UTC, formatted once per second rather than through ``strftime`` per line.
Elasticsearch maps that form as a date.

Access lines go further (:class:`AccessLog`): while logging is exactly as
:func:`configure_logging` left it, the line that the handler would write is written
directly, without a record, the logger hierarchy or the extras merge (together ~20 us a
request under load). Any other set-up (another handler, a filter, a test's capture) gets the
line through ``logging`` as usual.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson
from pythonjsonlogger.orjson import OrjsonFormatter

_FORMAT = "{asctime}{levelname}{name}{message}"
_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}


class JsonFormatter(OrjsonFormatter):
    """python-json-logger's orjson formatter with a UTC ISO 8601 ``time``."""

    # (second, its formatted prefix), replaced whole so no thread sees a torn pair.
    _current: tuple[int, str] = (-1, "")

    def utc_time(self, created: float) -> str:
        """``created`` (Unix seconds) as ``2026-11-29T04:13:37.575Z``."""
        second, prefix = self._current
        if int(created) != second:
            second = int(created)
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._current = (second, prefix)
        return f"{prefix}.{int((created - second) * 1000):03d}Z"

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return self.utc_time(record.created)


def json_formatter() -> JsonFormatter:
    return JsonFormatter(_FORMAT, style="{", rename_fields=_RENAMES)


# The handler configure_logging installed on the root logger, if it did.
_installed: logging.StreamHandler[Any] | None = None


def configure_logging(level: str) -> None:
    global _installed
    # No line names its caller, thread or process; computing them costs every record.
    logging._srcfile = None  # documented in the logging HOWTO ("Optimization")
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    _installed = handler
    # uvicorn's own access log is replaced by ours, which carries the request id.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class AccessLog:
    """Writes one INFO line, message ``request``, with the given fields, for ``logger``."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def _direct_handler(self) -> logging.StreamHandler[Any] | None:
        """The installed handler, if it alone would receive and format the line unfiltered."""
        handler = _installed
        if handler is None or handler.filters or handler.level > logging.INFO:
            return None
        if not isinstance(handler.formatter, JsonFormatter):
            return None
        node: logging.Logger | None = self.logger
        while node is not None and node.parent is not None:  # every logger below the root
            if node.handlers or node.filters or node.disabled or not node.propagate:
                return None
            node = node.parent
        root = logging.getLogger()
        if root.handlers != [handler] or root.filters:
            return None
        return handler

    def __call__(self, fields: dict[str, Any]) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        handler = self._direct_handler()
        if handler is None:
            logger.info("request", extra=fields)
            return
        formatter = handler.formatter
        assert isinstance(formatter, JsonFormatter)  # checked by _direct_handler
        line = {
            "time": formatter.utc_time(time.time()),
            "level": "INFO",
            "logger": logger.name,
            "message": "request",
            **fields,
        }
        text = orjson.dumps(line, default=str).decode() + handler.terminator
        try:
            # StreamHandler.emit holds this lock to write and flush; lines never interleave.
            with handler.lock:  # type: ignore[union-attr]  # created with the handler
                handler.stream.write(text)
                handler.stream.flush()
        except RecursionError:
            raise
        except Exception:
            # As StreamHandler.emit does: a stdout that cannot be written (a closed pipe) is
            # logging's problem, reported on stderr, never the request's, which is answered.
            record = logger.makeRecord(
                logger.name, logging.INFO, "(unknown file)", 0, "request", (), None, extra=fields
            )
            handler.handleError(record)
