import json
import logging

from app.wiring.logging_setup import JsonFormatter


def _line(formatter: JsonFormatter, created: float, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("mlsys.api.access", logging.INFO, __file__, 1, "request", None, None)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    record.__dict__.update(extra)
    return dict(json.loads(formatter.format(record)))


def test_time_is_iso_8601_utc_with_milliseconds_across_seconds() -> None:
    formatter = JsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )
    # 2026-11-29 04:13:37.575 UTC, then the same second, then the next one.
    first = _line(formatter, 1795925617.575, request_id="a")
    same = _line(formatter, 1795925617.9, request_id="b")
    later = _line(formatter, 1795925618.0045)
    assert first["time"] == "2026-11-29T04:13:37.575Z"
    assert same["time"] == "2026-11-29T04:13:37.900Z"
    assert later["time"] == "2026-11-29T04:13:38.004Z"
    assert first["level"] == "INFO" and first["logger"] == "mlsys.api.access"
    assert first["request_id"] == "a" and "b" not in first.values()
