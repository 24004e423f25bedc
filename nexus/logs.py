"""How a Nexus process logs: one line per record, libraries' chatter kept at WARNING."""

from __future__ import annotations

import logging

NOISY_LOGGERS = ("tortoise", "aiosqlite", "asyncio", "saq", "socketio", "engineio", "hypercorn.access", "asyncpg",
                 "aerich", "aiogram.event", "mail.log")


class OneLine(logging.Filter):
    """Drops the traceback of a library's warning, keeping its line and the error's text
    (asyncpg logs every failed reconnect during a database restart with a full traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.levelno < logging.ERROR and not record.name.startswith("nexus"):
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {error}"
            record.args = ()
            record.exc_info = None
        return True


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", force=True)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    for handler in logging.getLogger().handlers:
        handler.addFilter(OneLine())
