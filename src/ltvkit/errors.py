"""The errors and warnings ltvkit raises.

Every error a user can cause derives from :class:`LtvError`, so callers (the CLI, the web app) catch one
class. An error whose message (and hint) is given as an :class:`ltvkit.i18n.Note` is its English text, as
``str(error)`` shows it, and knows its translations: :meth:`LtvError.localized` writes it in the reader's
language (``raise WorkspaceError(Note("error_no_workspace", path=path))``). The tree::

    LtvError
    ├── InputError (ValueError)            bad input: names the file, row and column, and says what to do
    │   ├── FileFormatError                the file cannot be read as a table
    │   │   └── LimitExceededError         it goes beyond an import limit (``limit`` names the constant)
    │   ├── MappingError                   columns cannot be mapped (unknown preset, missing column, bad
    │   │                                  mapping file)
    │   ├── AmbiguousFormatError           numbers or dates that can be read two ways; never guessed
    │   ├── AllRowsRejectedError           every row of a file rejected for one reason (a wrong option)
    │   └── ValueFormatError               one value that is not what its column holds (an amount, a date)
    ├── ParameterError (ValueError)        an option or argument out of its range
    │   └── MissingDataError               what was asked for is not in the data (a currency, a product)
    ├── WorkspaceError                     the workspace file cannot be opened or is not an ltvkit workspace
    ├── SourceError                        a data source (warehouse, lake, Spark) cannot be reached or read
    ├── NotFittedError (AttributeError)    a model used before ``fit``
    └── ConvergenceError (RuntimeError)    an optimiser that did not converge

    LtvWarning (UserWarning)
    ├── StatisticalWarning                 an assumption of a model looks violated
    │   └── HeavyTailWarning               spend so heavy-tailed that its fitted mean is infinite
    └── ApproximationWarning               a result had to be approximated
        └── WeakIdentificationWarning      the data cannot pin a fitted model's parameters down
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


class LtvError(Exception):
    """Base class of every ltvkit error."""

    @property
    def localizable(self) -> bool:
        """Whether the message knows its translations (it was given as an :class:`ltvkit.i18n.Note`)."""
        from ltvkit.i18n import Note

        return bool(self.args) and isinstance(self.args[0], Note)

    def localized(self, lang: str) -> str:
        """The message in ``lang`` (en, ru, uk): by its own translations, else by the pattern of a known
        message (:data:`ltvkit.i18n.REASONS`, as the dashboard reads them), else as it is (English)."""
        from ltvkit import i18n

        first = self.args[0] if self.args else None
        said = first if isinstance(first, str) else str(self)
        if self.localizable or lang == "en":
            return i18n.localized(said, lang)
        return i18n.reason(said, lang)

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled with its attributes, so that it crosses a process boundary whole (the dashboard reads
        uploads in a worker process); the default, ``cls(*args)``, fails for keyword-only arguments."""
        return _restored, (type(self), self.args, self.__dict__)


def _restored(cls: type[LtvError], args: tuple[object, ...], state: dict[str, object]) -> LtvError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class InputError(LtvError, ValueError):
    """Input that ltvkit cannot use; the message says where it is and what to do.

    Parameters
    ----------
    message:
        What is wrong.
    file, row, column:
        Where it is, as far as known. ``row`` is the row number as a spreadsheet shows it (header = row 1).
    hint:
        What the user can do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.reason = message
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.hint = hint
        super().__init__(self._compose())

    @property
    def localizable(self) -> bool:
        from ltvkit.i18n import Note

        return isinstance(self.reason, Note)

    def localized(self, lang: str) -> str:
        if self.localizable or lang == "en":
            return self._compose(lang)
        from ltvkit import i18n

        known = i18n.reason(str(self), lang)  # a known message, read by its pattern
        return known if known != str(self) else self._compose(lang)

    def _compose(self, lang: str = "en") -> str:
        """The message: where (file, row, column), what, and the hint, in ``lang`` (the reason and the hint
        in it when they are :class:`ltvkit.i18n.Note`); English without loading the texts (an import may
        reject many rows)."""
        reason, hint = self.reason, self.hint
        row, column = f"row {self.row}", f"column {self.column!r}"
        if lang != "en":
            from ltvkit import i18n

            reason, hint = i18n.localized(reason, lang), hint and i18n.localized(hint, lang)
            row = i18n.text("error_where_row", lang, row=self.row)
            column = i18n.text("error_where_column", lang, column=repr(self.column))
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(row)
        if self.column is not None:
            where.append(column)
        text = f"{', '.join(where)}: {reason}" if where else reason
        if hint:
            text += f" — {hint}"
        return text


class FileFormatError(InputError):
    """The file cannot be read as a table (unknown format, unreadable encoding, empty, corrupt)."""


class LimitExceededError(FileFormatError):
    """The file goes beyond one of the import limits of :mod:`ltvkit.io.limits`; ``limit`` is the name of the
    constant (``MAX_FIELD_CHARS``, ``MAX_COMPRESSION_RATIO``...)."""

    def __init__(
        self,
        message: str,
        *,
        limit: str,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.limit = limit
        super().__init__(message, file=file, row=row, column=column, hint=hint)


class MappingError(InputError):
    """The file's columns cannot be mapped to orders or spend.

    When a needed column is missing, ``columns`` lists the file's headers, ``found`` the fields that were
    mapped (field → header) and ``missing`` the groups of fields still without a column (one field of each
    group is needed: ``[["customer_id", "email", "phone"], ["ordered_at"]]``), so that an interface can
    ask the user which column holds what (the dashboard's mapping form)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
        columns: Sequence[str] = (),
        found: Mapping[str, str] | None = None,
        missing: Sequence[Sequence[str]] = (),
    ) -> None:
        self.columns, self.found = list(columns), dict(found or {})
        self.missing = [list(group) for group in missing]
        super().__init__(message, file=file, row=row, column=column, hint=hint)


class AmbiguousFormatError(InputError):
    """Values that can be read two ways (``1,234``; ``03/04/2026``) with nothing in the file to decide."""


class AllRowsRejectedError(InputError):
    """Every row of a file was rejected for the same reason, which an option usually explains (a decimal
    mark or a date format the file does not use). ``key`` and ``values`` give the message in
    :mod:`ltvkit.i18n`; :meth:`localized` renders it in another language (a value named ``reason`` is a
    rejection reason, translated by :func:`ltvkit.i18n.reason`)."""

    def __init__(
        self, key: str, *, file: str | Path | None = None, hint: str | None = None, **values: object
    ):
        from ltvkit import i18n

        self.key, self.values = key, values
        super().__init__(i18n.text(key, "en", **values), file=file, hint=hint)

    @property
    def localizable(self) -> bool:
        return True

    def localized(self, lang: str) -> str:
        from ltvkit import i18n

        values = dict(self.values)
        if "reason" in values:
            values["reason"] = i18n.reason(str(values["reason"]), lang)
        where = f"{self.file}: " if self.file else ""
        return where + i18n.text(self.key, lang, **values)


class ValueFormatError(InputError):
    """One value that does not read as what its column holds (``ten`` as an amount); the importer rejects its
    row with the message as the reason."""


class ParameterError(LtvError, ValueError):
    """An option or argument outside its allowed range, or one that is needed and missing.

    ``parameter`` names the argument of the Python API the message is about (``currency``); the message
    itself names no command-line flag or form field, so that each interface adds its own (the CLI prints
    ``--currency``)."""

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        self.parameter = parameter
        super().__init__(message)


class MissingDataError(ParameterError):
    """A well-formed request for something the data does not hold: a currency without purchases, a product
    nobody bought, a split value no cohort has (the web API answers 404)."""


class WorkspaceError(LtvError):
    """The workspace cannot be opened or is not an ltvkit workspace."""


class SourceError(LtvError):
    """A data source cannot be reached or read: a bad connection URL, a backend that is not installed, a
    table that does not exist."""


class NotFittedError(LtvError, AttributeError):
    """A model was used before ``fit`` was called."""


class ConvergenceError(LtvError, RuntimeError):
    """The optimiser did not converge; ``result`` holds what it returned."""

    def __init__(self, message: str, result: object | None = None) -> None:
        super().__init__(message)
        self.result = result


class LtvWarning(UserWarning):
    """Base class of ltvkit's warnings."""


class StatisticalWarning(LtvWarning):
    """An assumption of a model looks violated by the data."""


class HeavyTailWarning(StatisticalWarning):
    """A fitted spend model whose average spend per order is infinite (Gamma-Gamma with q ≤ 1): a few
    very large orders dominate, and predictions for customers with few orders are unbounded."""


class ApproximationWarning(LtvWarning):
    """A result had to be approximated."""


class WeakIdentificationWarning(ApproximationWarning):
    """A fitted model's parameters are not pinned down by the data (a ridge, a bound, a flat likelihood):
    its message says in plain words what the data cannot tell."""


_NOTES_LOCK = threading.RLock()


@contextmanager
def collect_notes() -> Iterator[list[str]]:
    """Collect the :class:`LtvWarning` messages raised inside the block (each one, even if repeated) into the
    list it yields, for a caller that shows them as notes beside its result (an :class:`ltvkit.i18n.Note`
    given as the message stays one, to be shown in the reader's language); other warnings pass through.

    Python's warning filters are global to the process, so blocks in different threads (the web server's)
    take turns: one thread's block cannot restore the filters under another's, which would turn that one's
    notes into errors or lose them. Blocks nest within a thread."""
    notes: list[str] = []
    with _NOTES_LOCK:
        yield from _collected(notes)


def _collected(notes: list[str]) -> Iterator[list[str]]:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LtvWarning)
            yield notes
    finally:
        for warning in caught:  # outside the recording block, so the others reach the usual filters once
            if issubclass(warning.category, LtvWarning):
                args: tuple[object, ...] = getattr(
                    warning.message, "args", ()
                )  # a note that knows its translations stays one
                first = args[0] if len(args) == 1 else None
                notes.append(first if isinstance(first, str) else str(warning.message))
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
