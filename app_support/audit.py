"""The append-only audit log: one JSON object per line, never a record's content.

Events and the fields each may carry (anything else is refused, so a caller cannot write record
values into the log by mistake)::

    login    provider, outcome                          a signed-in user's session starts
    logout
    upload   files [{role, name, size, sha256}], records_read, records_used, records_excluded,
             outcome, kept
    export   what, selection, format, file_name          a download was produced
    denial   capability, what                            a check refused something

Every line also has ``ts`` (UTC, ISO 8601), ``event`` and who acted: ``mode``, ``user`` (e-mail
or OIDC subject), ``role``, ``session`` and ``ip``, filled from the current Streamlit session
(app_support.auth.context) unless the caller passes them (a deferred download runs outside
the session, so widgets captures them when it draws the button).

The file (``REGISTRY_AUDIT_LOG``, ``audit_log`` in registry.toml, default ``logs/audit.jsonl``)
is opened with O_APPEND for every event and each line is written with a single ``write``, so
lines from several replicas never interleave; nothing here truncates or rewrites it. An event
that cannot be written raises :class:`AuditError`: the action it records does not happen.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EVENT_FIELDS: dict[str, frozenset[str]] = {
    "login": frozenset({"provider", "outcome"}),
    "logout": frozenset(),
    "upload": frozenset({"files", "records_read", "records_used", "records_excluded", "outcome", "kept"}),
    "export": frozenset({"what", "selection", "format", "file_name"}),
    "denial": frozenset({"capability", "what"}),
}
WHO_FIELDS = ("mode", "user", "role", "session", "ip")
MAX_TEXT = 300            # characters per string value: names and labels, never content
MAX_ITEMS = 50            # entries per list or dict value
FILE_MODE = 0o640
DIR_MODE = 0o750

_LOCK = threading.Lock()


class AuditError(RuntimeError):
    """The audit log cannot be written."""


def path() -> Path:
    from app_support import auth

    return auth.settings().audit_log


def _clean(value: Any, depth: int = 0) -> Any:
    """JSON-safe, bounded copy of a field value (short strings, small lists and dicts)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if depth >= 3:
        return str(value)[:MAX_TEXT]
    if isinstance(value, dict):
        return {str(k)[:MAX_TEXT]: _clean(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, (list, tuple)):
        return [_clean(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
    if type(value).__module__ == "numpy" and hasattr(value, "item"):     # numpy scalars
        return _clean(value.item(), depth + 1)
    return str(value)[:MAX_TEXT]


def entry(event: str, **fields: Any) -> dict[str, Any]:
    """The line :func:`log_event` writes (validated), without writing it."""
    if event not in EVENT_FIELDS:
        raise ValueError(f"unknown audit event {event!r}; one of {', '.join(EVENT_FIELDS)}")
    extra = set(fields) - EVENT_FIELDS[event] - set(WHO_FIELDS)
    if extra:
        raise ValueError(f"audit event {event!r} does not take {sorted(extra)}")
    who = {k: fields.pop(k) for k in WHO_FIELDS if k in fields}
    if len(who) < len(WHO_FIELDS):
        from app_support import auth

        who = {**auth.context(), **who}
    line = {"ts": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"), "event": event}
    line.update({k: _clean(who.get(k)) for k in WHO_FIELDS})
    line.update({k: _clean(v) for k, v in fields.items()})
    return line


def log_event(event: str, *, to: Path | None = None, **fields: Any) -> dict[str, Any]:
    """Append one event to the audit log and return it. ``to`` overrides the configured file."""
    line = entry(event, **fields)
    data = (json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode("utf-8")
    target = Path(to) if to is not None else path()
    try:
        target.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        with _LOCK:
            fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
            try:
                written = os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as exc:
        log.error("audit log %s cannot be written: %s", target, exc)
        raise AuditError(f"the audit log cannot be written ({exc.strerror})") from exc
    if written != len(data):
        raise AuditError(f"short write to the audit log {target}")
    log.info("audit %s %s", event, {k: line[k] for k in ("user", "role") if line.get(k)})
    return line


def file_facts(files: dict[str, tuple[str, bytes]]) -> list[dict[str, Any]]:
    """Role, name, size and SHA-256 of each uploaded file ({role: (name, bytes)}), never content."""
    import hashlib

    return [{"role": role, "name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for role, (name, data) in files.items()]


def read(p: Path | None = None) -> list[dict[str, Any]]:
    """Every event of the log (for tests and operators' scripts)."""
    target = Path(p) if p is not None else path()
    if not target.exists():
        return []
    return [json.loads(x) for x in target.read_text(encoding="utf-8").splitlines() if x.strip()]


def log_page_upload(role: str, name: str, data: bytes, ok: bool) -> dict[str, Any]:
    """An upload made on a page other than the Data page (the Survival page's life table, the
    Projections page's population projection, the Maps page's reference rates): name, size and
    SHA-256, and whether it was read or refused."""
    return log_event("upload", files=file_facts({role: (name, data)}), outcome="loaded" if ok else "rejected")
