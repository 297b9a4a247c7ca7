"""The one exception type the readers raise for input a user can fix.

Every reader and the ingest pipeline turn bad input into an :class:`IngestError` whose
``str()`` is a complete sentence for the user: which file, which row and column (when they
are known), what is wrong and what to do about it. The dashboard and the command line show
that sentence as it is, never a traceback.
"""
from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    """A file that cannot be read as it is, with a message saying what to change.

    Parameters
    ----------
    message : what is wrong and what to do ("... Save the file as UTF-8 and try again.").
    file, row, column : where; ``row`` is the 1-based data row (header = row 0).
    """

    def __init__(self, message: str, file: str | Path | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(f"file '{Path(self.file).name}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        prefix = ("In " + ", ".join(where) + ": ") if where else ""
        return prefix + self.message

    def with_file(self, file: str | Path | None) -> "IngestError":
        """The same error with the file name filled in when it was not known yet."""
        if self.file is None and file is not None:
            return IngestError(self.message, file=file, row=self.row, column=self.column)
        return self
