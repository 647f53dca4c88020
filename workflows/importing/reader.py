"""Stream a CSV or XLSX file through a mapping into checked submissions, one ``ImportRow`` per data row.

Rows are read one at a time (``csv`` module, openpyxl in read-only mode), so a file of any length is
read in constant memory. A bad row becomes an ``ImportRow`` with an ``error``; it never stops the
stream. Only problems with the file as a whole (not found, wrong encoding, a mapped column missing)
raise ``SourceFileError``.
"""

import csv
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from models.complaint import ComplaintCreate
from workflows.importing.mapping import (
    OUTCOME_TEXT_MAX,
    OUTCOME_TIMES,
    TIME_FIELDS,
    Mapping,
    MappingError,
    text_max_length,
)

# Appended to a text cut by [truncate], so a reader of the complaint sees that it was cut.
TRUNCATION_MARK = "…"

Cell = str | datetime | None


class SourceFileError(MappingError):
    """The data file cannot be read with this mapping (missing, wrong encoding, a mapped column absent)."""


class Outcome(NamedTuple):
    """What the other system recorded as having happened; replay applies it at these instants."""

    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    response_note: str | None = None


NO_OUTCOME = Outcome()


class ImportRow(NamedTuple):
    """One data row: a checked submission and its outcome, or the reason the row was refused.

    ``row_no`` is the row as a spreadsheet shows it (header row 1, first data row 2), counted in
    records, so a CSV cell spanning several lines still counts as one row. ``truncated`` names the
    fields that [truncate] cut to their maximum length. A named tuple: immutable, and cheap to make
    at tens of thousands a second.
    """

    row_no: int
    submission: ComplaintCreate | None = None
    outcome: Outcome | None = None
    error: str | None = None
    truncated: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


def read_rows(path: Path, mapping: Mapping) -> Iterator[ImportRow]:
    """Yield one ``ImportRow`` per non-empty data row of ``path``, read as ``mapping`` says.

    Raise ``SourceFileError`` (before the first row) when the file or a mapped column is missing,
    and when the file as a whole cannot be decoded.
    """
    if not path.is_file():
        raise SourceFileError(f"{path}: file not found")
    fmt = mapping.source.format or _format_from_suffix(path)
    rows = _csv_cells(path, mapping) if fmt == "csv" else _xlsx_cells(path, mapping)
    convert: _RowConverter | None = None
    for row_no, cells in rows:
        if not any(cells):
            continue
        if convert is None:
            convert = _RowConverter(mapping, cells, path.name, dated_texts=fmt == "xlsx")
            continue
        yield convert(row_no, cells)
    if convert is None:
        raise SourceFileError(f"{path.name}: no header row; the file is empty")


def _format_from_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    raise SourceFileError(
        f"{path.name}: cannot tell the format from the extension {suffix!r}; "
        'set source.format = "csv" or "xlsx" in the mapping'
    )


def _csv_cells(path: Path, mapping: Mapping) -> Iterator[tuple[int, Sequence[Cell]]]:
    encoding = mapping.source.encoding
    row_no = 0
    try:
        with path.open(encoding=encoding, newline="") as file:
            for row_no, cells in enumerate(csv.reader(file, delimiter=mapping.source.delimiter), start=1):
                yield row_no, cells
    except UnicodeDecodeError:
        # Text is decoded in blocks, so the row is only where the bad block was reached.
        where = f" (after row {row_no})" if row_no else ""
        raise SourceFileError(
            f"{path.name}: not valid {encoding} text{where}; set source.encoding "
            "(e.g. 'gb18030' for files saved by Chinese Excel)"
        ) from None
    except csv.Error as exc:
        raise SourceFileError(f"{path.name}: row {row_no + 1}: cannot be read as CSV: {exc}") from None


def _xlsx_cells(path: Path, mapping: Mapping) -> Iterator[tuple[int, Sequence[Cell]]]:
    # Imported here: openpyxl costs a noticeable start-up time and CSV imports never need it.
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise SourceFileError(f"{path.name}: not a readable .xlsx workbook ({exc})") from None
    try:
        sheet_name = mapping.source.sheet
        if sheet_name is None:
            sheet = book.worksheets[0]
        elif sheet_name in book.sheetnames:
            sheet = book[sheet_name]
        else:
            raise SourceFileError(
                f"{path.name}: source.sheet: no sheet {sheet_name!r}; its sheets are: {', '.join(book.sheetnames)}"
            )
        # Some writers record a wrong sheet size; without this rows beyond it would be ignored.
        sheet.reset_dimensions()
        for row_no, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield row_no, [_xlsx_cell(value) for value in values]
    finally:
        book.close()


def _xlsx_cell(value: object) -> Cell:
    """Keep text and datetimes; write numbers the way a user reads them (``2549``, not ``2549.0``)."""
    if value is None or isinstance(value, str | datetime):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date):
        return datetime.combine(value, time())
    return str(value)


# Formats that datetime.fromisoformat reads exactly as strptime would, once the text has the very
# shape of the format (ASCII digits and these separators). Times are most of a row's cost, and this
# path is about ten times faster than strptime with a zone conversion.
_ISO_SHAPES = {
    "%Y-%m-%d %H:%M:%S": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
    "%Y-%m-%dT%H:%M:%S": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d",
    "%Y-%m-%d %H:%M": r"\d{4}-\d\d-\d\d \d\d:\d\d",
    "%Y-%m-%d": r"\d{4}-\d\d-\d\d",
}
_LAST_INSTANT_OF_DAY = timedelta(days=1, microseconds=-1)
_OFFSET_CACHE_MAX = 100_000


class _TimeReader:
    """Parse a cell with the mapping's time format and return it as aware UTC.

    Naive times are in the mapping's zone. On the ISO fast path the zone's offset is looked up once
    per local day (keyed by the text 'YYYY-MM-DD'), and kept only for days whose offset is the same
    at both ends: a day holding a zone change (daylight saving) takes the general path, so the
    result is always the one ``replace(tzinfo=zone).astimezone(UTC)`` gives.
    """

    def __init__(self, time_format: str, zone: ZoneInfo) -> None:
        self.time_format = time_format
        self.zone = zone
        shape = _ISO_SHAPES.get(time_format)
        self.iso_match = re.compile(shape, re.ASCII).fullmatch if shape else None
        self.offsets: dict[str, timedelta | None] = {}

    def __call__(self, value: str) -> datetime:
        """Raise ValueError when ``value`` does not match the format."""
        if self.iso_match is not None and self.iso_match(value):
            try:
                offset = self.offsets[value[:10]]
            except KeyError:
                offset = self._day_offset(value[:10])
            if offset is not None:
                try:
                    return datetime.fromisoformat(value + "+00:00") - offset
                except ValueError:
                    pass  # the shape fits but a number is out of range: let strptime say so
        return self.to_utc(datetime.strptime(value, self.time_format))

    def to_utc(self, value: datetime) -> datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.zone)
        return value.astimezone(UTC)

    def _day_offset(self, day: str) -> timedelta | None:
        try:
            start = datetime.fromisoformat(day)
        except ValueError:
            return None
        first, last = self.zone.utcoffset(start), self.zone.utcoffset(start + _LAST_INSTANT_OF_DAY)
        offset = first if first == last else None
        if len(self.offsets) >= _OFFSET_CACHE_MAX:
            self.offsets.clear()
        self.offsets[day] = offset
        return offset


class _RowConverter:
    """The mapping resolved against one file's headers, built once per file.

    Per row it picks the mapped cells with one ``itemgetter`` call, trims them in one comprehension,
    and parses each time column once: at tens of thousands of rows a second, every step counts.
    """

    def __init__(self, mapping: Mapping, header: Sequence[Cell], file_name: str, dated_texts: bool) -> None:
        # dated_texts: cells may be datetimes (XLSX), to be written as text in text fields.
        self.dated_texts = dated_texts
        headers = [str(cell).strip() if cell is not None else "" for cell in header]
        index: dict[str, int] = {}
        for position, name in enumerate(headers):
            if name:
                index.setdefault(name, position)
        outcome = mapping.outcome_columns
        problems = []
        wanted = [("fields", name, column) for name, column in mapping.fields.items()]
        wanted += [("outcome", name, column) for name, column in outcome.items()]
        for section, name, column in wanted:
            if column not in index:
                problems.append(f"{section}.{name}: no column {column!r}")
            elif headers.count(column) > 1:
                problems.append(f"{section}.{name}: column {column!r} appears more than once")
        if problems:
            present = ", ".join(name for name in headers if name)
            raise SourceFileError(f"{file_name}: {'; '.join(problems)}; the file's headers are: {present}")

        self.time_format = mapping.source.time_format
        self.read_time = _TimeReader(mapping.source.time_format, mapping.source.zone)
        self.columns = dict(mapping.fields) | outcome
        self.constants: dict[str, Any] = dict(mapping.constants)

        # The picked cells, in this order: text fields, then times (received_at, then outcome times),
        # then the response note. A name's slot is its place in that order.
        texts = [name for name in mapping.fields if name not in TIME_FIELDS]
        times = [name for name in mapping.fields if name in TIME_FIELDS]
        outcome_times = [name for name in OUTCOME_TIMES if name in outcome]
        notes = ["response_note"] if "response_note" in outcome else []
        slots = texts + times + outcome_times + notes
        positions = [index[self.columns[name]] for name in slots]
        self.pick = _picker(positions)
        self.padding: list[Cell] = [None] * (max(positions, default=0) + 1)
        self.text_names = tuple(texts)
        self.cuts = tuple(
            (slot, name, text_max_length(name) or 0)
            for slot, name in enumerate(texts)
            if mapping.truncate.get(name)
        )
        # (name, slot, the first slot read from the same column: the slot itself, or an earlier
        # one whose parsed value is reused)
        self.times: list[tuple[str, int, int]] = []
        first_slot_of_column: dict[int, int] = {}
        for slot, name in enumerate(times + outcome_times, start=len(texts)):
            self.times.append((name, slot, first_slot_of_column.setdefault(positions[slot], slot)))
        self.outcome_time_names = frozenset(outcome_times)
        self.outcome_slots = tuple((name, slot) for name, slot, _ in self.times if name in outcome_times)
        self.received_slot = slots.index("received_at") if "received_at" in slots else -1
        self.has_outcome = bool(outcome)
        self.note_slot = len(slots) - 1 if notes else -1
        self.note_limit = OUTCOME_TEXT_MAX["response_note"]
        self.note_cut = bool(mapping.truncate.get("response_note"))

    def __call__(self, row_no: int, cells: Sequence[Cell]) -> ImportRow:
        try:
            picked = self.pick(cells)
        except IndexError:  # a short row: its missing cells are empty
            picked = self.pick([*cells, *self.padding[len(cells) :]])
        values = [(cell.strip() or None) if cell.__class__ is str else _clean(cell) for cell in picked]
        if self.dated_texts:
            for slot in range(len(self.text_names)):
                if isinstance(values[slot], datetime):
                    values[slot] = str(values[slot])
        data: dict[str, Any] = dict(zip(self.text_names, values, strict=False))
        data.update(self.constants)
        errors: list[str] = []
        truncated: list[str] = []
        for slot, name, cut in self.cuts:
            text = values[slot]
            if isinstance(text, str) and len(text) > cut:
                data[name] = text[: cut - len(TRUNCATION_MARK)] + TRUNCATION_MARK
                truncated.append(name)

        parsed: dict[int, datetime | None] = {}
        outcome_times: dict[str, datetime | None] = {}
        for name, slot, same_as in self.times:
            if same_as != slot:
                at = parsed[slot] = parsed[same_as]
            else:
                at = parsed[slot] = self._time(name, values[slot], errors)
            if name in self.outcome_time_names:
                outcome_times[name] = at
            else:
                if at is None and name == "received_at" and values[slot] is None:
                    # Left empty, intake would start the clocks at the import instant: refuse instead.
                    errors.append(f"received_at: empty cell in column {self.columns[name]!r}")
                data[name] = at

        outcome = NO_OUTCOME
        if self.has_outcome:
            outcome = self._outcome(values, data.get("received_at"), outcome_times, errors, truncated)
        try:
            submission = ComplaintCreate.model_validate(data)
        except ValidationError as exc:
            errors.extend(self._describe(exc))
            return ImportRow(row_no=row_no, error="; ".join(errors))
        if errors:
            return ImportRow(row_no=row_no, error="; ".join(errors))
        return ImportRow(row_no=row_no, submission=submission, outcome=outcome, truncated=tuple(truncated))

    def _time(self, name: str, value: str | datetime | None, errors: list[str]) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return self.read_time.to_utc(value)
        try:
            return self.read_time(value)
        except ValueError:
            errors.append(f"{name}: {value!r} does not match {self.time_format}")
            return None

    def _outcome(
        self,
        values: list[Any],
        received_at: datetime | None,
        times: dict[str, datetime | None],
        errors: list[str],
        truncated: list[str],
    ) -> Outcome:
        if received_at is not None:
            for name, slot in self.outcome_slots:
                at = times[name]
                if at is not None and at < received_at:
                    received = values[self.received_slot]
                    errors.append(
                        f"{name}: {_shown(values[slot])!r} is before received_at {_shown(received)!r}"
                    )
        note: str | None = None
        if self.note_slot >= 0:
            note = values[self.note_slot]
            if note is not None and not isinstance(note, str):
                note = str(note)
            if note is not None and len(note) > self.note_limit:
                if self.note_cut:
                    note = note[: self.note_limit - len(TRUNCATION_MARK)] + TRUNCATION_MARK
                    truncated.append("response_note")
                else:
                    errors.append(f"response_note: longer than {self.note_limit} characters")
        return Outcome(times.get("responded_at"), times.get("resolved_at"), note)

    def _describe(self, exc: ValidationError) -> list[str]:
        """Say pydantic's complaints in the words of the file: the field, then what is wrong with its cell."""
        parts = []
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else "row"
            kind = error["type"]
            context = error.get("ctx", {})
            value = error.get("input")
            if value is None and kind in ("string_type", "missing", "enum"):
                message = f"empty cell in column {self.columns[name]!r}" if name in self.columns else "empty"
            elif kind == "string_too_long":
                message = f"longer than {context['max_length']} characters"
            elif kind == "string_too_short":
                message = "empty"
            elif kind == "enum":
                message = f"{value!r} is not one of {context.get('expected', '')}"
            else:
                message = error["msg"]
            parts.append(f"{name}: {message}")
        return parts


def _picker(positions: list[int]) -> Callable[[Sequence[Cell]], Sequence[Cell]]:
    """Return a function taking the cells at ``positions`` from a row, as a tuple (C speed)."""
    if len(positions) >= 2:
        return itemgetter(*positions)
    if positions:
        only = positions[0]
        return lambda cells: (cells[only],)
    return lambda cells: ()


def _clean(cell: Cell) -> str | datetime | None:
    """Trim text; an empty cell is None; datetimes (XLSX date cells) stay as they are."""
    if cell is None or isinstance(cell, datetime):
        return cell
    return str(cell).strip() or None


def _shown(cell: object) -> str:
    return cell.strip() if isinstance(cell, str) else str(cell)
