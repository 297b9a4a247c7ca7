"""Limits on what one file may cost, with defaults an operator can change.

Each limit has a default suited to a national registry on a small server and can be set in
the environment before the dashboard (or the command line) starts, e.g.
``REGISTRY_MAX_ROWS=20000000``. A file over a limit is refused with a sentence that names
the limit, the value found and the variable that raises it; nothing is read past the cap
(decompression is streamed and stops there).

========================== ============================== =========================================
variable                   default                        what it bounds
========================== ============================== =========================================
REGISTRY_MAX_UPLOAD_MB     200                            one uploaded file as sent (the Data page;
                                                          Streamlit's ``server.maxUploadSize`` too)
REGISTRY_MAX_UNCOMPRESSED_MB 2048                         a file after decompression (gzip, zip,
                                                          xlsx) or as read from disk
REGISTRY_MAX_RATIO         100                            uncompressed : compressed size, checked
                                                          once more than 16 MB came out
REGISTRY_MAX_ROWS          10000000                       records (data rows) of one table
REGISTRY_MAX_COLUMNS       1000                           columns of one table
REGISTRY_MAX_FIELD_CHARS   32767                          characters in one value (Excel's cell
                                                          limit, so no spreadsheet export hits it)
REGISTRY_MAX_MAPPING_KB    256                            a mapping file (YAML/JSON)
REGISTRY_MAX_MAPPING_DEPTH 6                              nesting of a mapping file
REGISTRY_WORKER_MEMORY_MB  4096                           memory of the worker that reads an upload
REGISTRY_WORKER_TIMEOUT_S  600                            time of the worker that reads an upload
========================== ============================== =========================================
"""
from __future__ import annotations

import dataclasses
import os

MB = 1 << 20
RATIO_CHECK_FROM_BYTES = 16 * MB     # small files compress far more than real extracts: not judged


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one file may cost; see the module docstring for the variables and defaults."""

    max_upload_mb: int = 200
    max_uncompressed_mb: int = 2048
    max_ratio: int = 100
    max_rows: int = 10_000_000
    max_columns: int = 1000
    max_field_chars: int = 32767
    max_mapping_kb: int = 256
    max_mapping_depth: int = 6
    worker_memory_mb: int = 4096
    worker_timeout_s: int = 600

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * MB

    @property
    def max_uncompressed_bytes(self) -> int:
        return self.max_uncompressed_mb * MB

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Limits":
        """Defaults overridden by ``REGISTRY_<FIELD>`` variables (positive integers).

        A value that is not a positive integer is ignored (the default holds) rather than
        stopping the server: the operator sees the limit in force in each message.
        """
        env = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            raw = env.get(env_name(f.name), "").strip()
            if raw.isascii() and raw.isdigit() and int(raw) > 0:
                values[f.name] = int(raw)
        return cls(**values)


def memory_message(limits: "Limits | None" = None) -> str:
    """The sentence for a file that needs more memory than one read may take."""
    return (f"reading the file needs more memory than is allowed for one file ({current(limits).worker_memory_mb:,} MB). "
            "Split the file (e.g. by year), or ask the operator to raise REGISTRY_WORKER_MEMORY_MB.")


def env_name(field: str) -> str:
    """The environment variable of a limit: ``max_rows`` -> ``REGISTRY_MAX_ROWS``."""
    return "REGISTRY_" + field.upper()


def current(limits: "Limits | None" = None) -> Limits:
    """``limits`` itself, or the limits in force (defaults and environment)."""
    return limits if limits is not None else Limits.from_env()
