"""Logging for the dashboard: one logger per module (``logging.getLogger(__name__)``) under the
``analytics`` and ``app_support`` names, written to stderr with the level the operator sets in
``REGISTRY_LOG_LEVEL`` (``make run LOG_LEVEL=DEBUG``; default INFO). Never a record's content."""
from __future__ import annotations

import logging
import os

LEVEL_ENV = "REGISTRY_LOG_LEVEL"
OURS = ("analytics", "app_support", "pages", "__main__")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure() -> None:
    """Attach one stderr handler to the project's loggers (idempotent: app.py runs on every rerun)."""
    level = os.environ.get(LEVEL_ENV, "INFO").upper()
    if level not in logging.getLevelNamesMapping():
        level = "INFO"
    for name in OURS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(getattr(h, "_registry_handler", False) for h in logger.handlers):
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter(FORMAT))
            handler._registry_handler = True
            logger.addHandler(handler)
            logger.propagate = False
