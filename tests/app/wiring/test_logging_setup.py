"""JSON log lines: the UTC time format and the access log's direct path."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from app.wiring import logging_setup
from app.wiring.logging_setup import AccessLog, configure_logging, json_formatter

FIELDS = {
    "request_id": "r-1",
    "key_id": None,
    "method": "POST",
    "route": "/v1/predict",
    "status": 200,
    "duration_ms": 0.325,
}


def _line(created: float, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("mlsys.api.access", logging.INFO, __file__, 1, "request", None, None)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    record.__dict__.update(extra)
    return dict(json.loads(json_formatter().format(record)))


def test_time_is_iso_8601_utc_with_milliseconds_across_seconds() -> None:
    # 2026-11-29 04:13:37.575 UTC, then the same second, then the next one.
    first = _line(1795925617.575, request_id="a")
    same = _line(1795925617.9, request_id="b")
    later = _line(1795925618.0045)
    assert first["time"] == "2026-11-29T04:13:37.575Z"
    assert same["time"] == "2026-11-29T04:13:37.900Z"
    assert later["time"] == "2026-11-29T04:13:38.004Z"
    assert first["level"] == "INFO" and first["logger"] == "mlsys.api.access"
    assert first["request_id"] == "a" and "b" not in first.values()
    assert "timestamp" not in first  # python-json-logger's own option stays off


@pytest.fixture
def stdout(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """configure_logging writing to a buffer; the logging state is restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging_setup._installed)
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    for flag in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, flag, getattr(logging, flag))
    configure_logging("INFO")
    yield buffer
    root.handlers[:], level, logging_setup._installed = saved
    root.setLevel(level)


def _only_ours() -> None:
    """Take pytest's capture handlers off the root for this test, as in the running API."""
    assert logging_setup._installed is not None
    logging.getLogger().handlers[:] = [logging_setup._installed]


def _lines(buffer: io.StringIO) -> list[str]:
    return buffer.getvalue().splitlines()


def _without_time(line: str) -> tuple[list[str], dict[str, object]]:
    parsed = json.loads(line)
    parsed.pop("time")
    return list(parsed), parsed


def test_the_direct_line_is_the_line_logging_writes(
    stdout: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = logging.getLogger("mlsys.test.access")
    records: list[logging.LogRecord] = []
    make_record = logger.makeRecord

    def counted(*args: object, **kwargs: object) -> logging.LogRecord:
        records.append(make_record(*args, **kwargs))  # type: ignore[arg-type]
        return records[-1]

    monkeypatch.setattr(logger, "makeRecord", counted)
    _only_ours()
    access = AccessLog(logger)
    access(FIELDS)
    assert records == []  # written directly
    # A filter anywhere makes the line go through logging instead.
    logger.addFilter(lambda record: True)
    try:
        access(FIELDS)
    finally:
        logger.filters.clear()
    assert len(records) == 1
    direct, routed = _lines(stdout)
    assert _without_time(direct) == _without_time(routed)  # same keys, same order, same values
    assert json.loads(direct)["time"].endswith("Z")


def test_another_handler_or_a_raised_level_takes_effect(
    stdout: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("mlsys.test.access")
    access = AccessLog(logger)
    with caplog.at_level(logging.INFO, logger="mlsys.test.access"):
        access(FIELDS)  # caplog's handler is on the root: logging delivers to both
    assert [r.getMessage() for r in caplog.records] == ["request"]
    assert caplog.records[0].route == "/v1/predict"  # type: ignore[attr-defined]
    logging.getLogger().setLevel(logging.WARNING)
    access(FIELDS)
    assert len(_lines(stdout)) == 1


class _Trickling(io.StringIO):
    """A stream that writes a line in pieces and lets other threads run in between, as a
    pipe written in several system calls would: only a shared lock keeps lines whole."""

    def write(self, text: str) -> int:
        for start in range(0, len(text), 16):
            super().write(text[start : start + 16])
            time.sleep(0)
        return len(text)


def test_lines_from_many_threads_never_interleave(
    stdout: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    _only_ours()
    trickling = _Trickling()
    monkeypatch.setattr(logging_setup._installed, "stream", trickling)
    access = AccessLog(logging.getLogger("mlsys.test.access"))
    other = logging.getLogger("mlsys.test.other")

    def work(n: int) -> None:
        for i in range(200):
            access({**FIELDS, "request_id": f"{n}-{i}"})
            other.info("something else", extra={"n": n})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = [json.loads(line) for line in _lines(trickling)]  # each line whole JSON
    assert len(lines) == 1600
    assert len({line["request_id"] for line in lines if "request_id" in line}) == 800


class _BrokenPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_stdout_that_cannot_be_written_is_reported_not_raised(
    stdout: io.StringIO, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _only_ours()
    handler = logging_setup._installed
    assert handler is not None
    monkeypatch.setattr(handler, "stream", _BrokenPipe())
    AccessLog(logging.getLogger("mlsys.test.access"))(FIELDS)  # must not raise
    err = capsys.readouterr().err
    assert "Logging error" in err and "BrokenPipeError" in err
