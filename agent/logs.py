"""The agent's JSON log lines (it shares no code with the control plane, by design)."""

from __future__ import annotations

import json
import logging
import sys

_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k not in _RESERVED}
        line = {
            "ts": self.formatTime(record),
            "level": record.levelname.lower(),
            "component": "agent",
            "logger": record.name,
            "msg": record.getMessage(),
            **fields,
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Json())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per long poll drowns everything else
