"""Logs as a person at a terminal reads them, JSON for a collector (console/lib/logs.py) and the
setting that chooses (console/lib/config.py)."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from console.lib import config, logs


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize(
    ("fmt", "tty", "json_lines"),
    [("auto", True, False), ("auto", False, True), ("json", True, True), ("text", False, False)],
)
def test_logs_are_text_at_a_terminal_and_json_elsewhere_unless_asked(
    monkeypatch, restore_logging, fmt, tty, json_lines
):
    stream = Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    logs.configure("INFO", fmt)
    logging.getLogger("seus.test").info("console ready")
    line = stream.getvalue().strip()
    if json_lines:
        assert json.loads(line)["message"] == "console ready"
    else:
        assert line.endswith("INFO seus.test console ready")


def test_an_unknown_log_format_stops_the_start_with_a_clear_message():
    assert config.from_env({"SEUS_LOG_FORMAT": "JSON"}).log_format == "json"
    assert config.from_env({}).log_format == "auto"
    with pytest.raises(config.ConfigError, match="SEUS_LOG_FORMAT must be one of auto, json, text"):
        config.from_env({"SEUS_LOG_FORMAT": "txt"})
