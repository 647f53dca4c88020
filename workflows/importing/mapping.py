"""Mapping files: how another system's CSV or XLSX columns become a ``ComplaintCreate``.

A mapping is a small TOML file (see ``mappings/README.md``). It is checked here, once, so that the
reader never meets a mapping it cannot apply; what can only be checked against the data file
(its headers, its sheets) is checked by the reader before the first row.
"""

import codecs
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    FutureDatetime,
    NaiveDatetime,
    PastDatetime,
    StrictBool,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic import Field as PydanticField

from models.complaint import DESCRIPTION_MAX, ComplaintCreate
from workflows.errors import DomainError
from workflows.policy import known_zone

# The outcome columns replay applies; the note becomes an audit event note, hence its limit.
OUTCOME_TIMES = ("responded_at", "resolved_at")
OUTCOME_TEXT_MAX = {"response_note": DESCRIPTION_MAX}
# Free text that may be cut to fit. Identifiers (channel_ref, credit_code, ...) never are: a cut
# reference could make two complaints one.
TRUNCATABLE = ("title", "description", "enterprise_name", "contact_name", "category", "response_note")
_DATETIME_TYPES = (datetime, AwareDatetime, NaiveDatetime, PastDatetime, FutureDatetime)


def _is_time(annotation: Any) -> bool:
    return any(
        kind in _DATETIME_TYPES or (isinstance(kind, type) and issubclass(kind, datetime))
        for kind in (get_args(annotation) or (annotation,))
    )


# Fields whose cells are times, parsed with ``source.time_format``.
TIME_FIELDS = frozenset(
    name for name, info in ComplaintCreate.model_fields.items() if _is_time(info.annotation)
)
SUBMISSION_FIELDS = tuple(ComplaintCreate.model_fields)
REQUIRED_FIELDS = tuple(name for name, info in ComplaintCreate.model_fields.items() if info.is_required())


def text_max_length(field: str) -> int | None:
    """Return the schema's maximum length of a text field (submission or outcome), None if it has none."""
    if field in OUTCOME_TEXT_MAX:
        return OUTCOME_TEXT_MAX[field]
    info = ComplaintCreate.model_fields.get(field)
    if info is None or field in TIME_FIELDS:
        return None
    for item in info.metadata:
        max_length = getattr(item, "max_length", None)
        if isinstance(max_length, int):
            return max_length
    return None


class MappingError(DomainError):
    """The mapping file, or the data file it is applied to, cannot be used; ``message`` says what to fix."""


class Source(BaseModel):
    """How to read the data file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["csv", "xlsx"] | None = None
    encoding: str = "utf-8-sig"
    delimiter: str = PydanticField(default=",", min_length=1, max_length=1)
    sheet: str | None = None
    time_format: str = "%Y-%m-%d %H:%M:%S"
    timezone: str = "Asia/Shanghai"

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}; e.g. 'utf-8-sig' or 'gb18030'") from None
        return value

    @field_validator("sheet")
    @classmethod
    def _blank_sheet_is_first(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("time_format")
    @classmethod
    def _has_directive(cls, value: str) -> str:
        if "%" not in value:
            raise ValueError(f"{value!r} has no % directive; e.g. '%Y-%m-%d %H:%M:%S'")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


ColumnName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class OutcomeColumns(BaseModel):
    """Columns holding what happened to the complaint in the other system (used by replay)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    responded_at: ColumnName | None = None
    resolved_at: ColumnName | None = None
    response_note: ColumnName | None = None

    def columns(self) -> dict[str, str]:
        return {name: column for name, column in self.model_dump().items() if column is not None}


class Mapping(BaseModel):
    """A validated mapping: columns for some ComplaintCreate fields, constants for others."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source = Source()
    fields: dict[str, ColumnName]
    constants: dict[str, Annotated[str, PydanticField(min_length=1)]] = {}
    truncate: dict[str, StrictBool] = {}
    outcome: OutcomeColumns | None = None

    @model_validator(mode="after")
    def _check_names(self) -> "Mapping":
        known = ", ".join(SUBMISSION_FIELDS)
        for section in ("fields", "constants"):
            for name in getattr(self, section):
                if name not in ComplaintCreate.model_fields:
                    raise ValueError(f"{section}.{name}: not a complaint field; use one of: {known}")
        for name in self.fields.keys() & self.constants.keys():
            raise ValueError(f"{name} is in both [fields] and [constants]; keep one")
        for name in REQUIRED_FIELDS:
            if name not in self.fields and name not in self.constants:
                raise ValueError(
                    f'no column for required field {name!r}: add fields.{name} = "<column header>" '
                    f'or constants.{name} = "<value>"'
                )
        for name in TIME_FIELDS & self.constants.keys():
            raise ValueError(f"constants.{name}: a time cannot be a constant; map it to a column in [fields]")
        for name, value in self.constants.items():
            _check_constant(name, value)
        outcome = self.outcome.columns() if self.outcome else {}
        if self.outcome is not None:
            if not outcome:
                raise ValueError(
                    "[outcome] is empty: give responded_at, resolved_at or response_note, or drop it"
                )
            if "received_at" not in self.fields:
                raise ValueError("[outcome] needs fields.received_at: outcomes are checked against it")
        for name in self.truncate:
            if name not in TRUNCATABLE:
                raise ValueError(
                    f"truncate.{name}: only free text can be truncated: {', '.join(TRUNCATABLE)}"
                )
            if name not in self.fields and name not in outcome:
                raise ValueError(f"truncate.{name}: {name} is not read from a column")
        return self

    @property
    def outcome_columns(self) -> dict[str, str]:
        """Outcome name → column header, only those the mapping names."""
        return self.outcome.columns() if self.outcome else {}


def _check_constant(name: str, value: str) -> None:
    info = ComplaintCreate.model_fields[name]
    field_type: Any = Annotated[info.annotation, info]
    try:
        TypeAdapter(field_type).validate_python(value)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        if error["type"] == "enum":
            detail = f"{value!r} is not one of {error.get('ctx', {}).get('expected', '')}"
        else:
            detail = error["msg"]
        raise ValueError(f"constants.{name}: {detail}") from None


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; raise ``MappingError`` with a one-line message naming the key to fix."""
    try:
        with path.open("rb") as file:
            raw = tomllib.load(file)
    except FileNotFoundError:
        raise MappingError(f"mapping {path}: file not found") from None
    except OSError as exc:
        raise MappingError(f"mapping {path}: cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise MappingError(f"mapping {path}: not UTF-8 text; save the mapping file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping {path}: not valid TOML: {exc}") from None
    try:
        return Mapping.model_validate(raw)
    except ValidationError as exc:
        raise MappingError(f"mapping {path}: {describe_mapping_errors(exc)}") from None


_SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "": tuple(Mapping.model_fields),
    "source": tuple(Source.model_fields),
    "outcome": tuple(OutcomeColumns.model_fields),
}


def describe_mapping_errors(exc: ValidationError) -> str:
    """Turn pydantic's errors on a mapping into '; '-joined 'key: what is wrong'."""
    parts = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc)
        kind = error["type"]
        message: str = error["msg"]
        if kind == "value_error":
            message = message.removeprefix("Value error, ")
            parts.append(f"{key}: {message}" if key else message)
            continue
        if kind == "extra_forbidden":
            parent = ".".join(loc[:-1])
            allowed = ", ".join(_SECTION_KEYS.get(parent, ()))
            what = "section" if not parent else "key"
            message = f"unknown {what}; allowed: {allowed}"
        elif kind == "missing":
            message = "missing; add a [fields] section" if key == "fields" else "missing"
        elif kind == "dict_type" and len(loc) == 1:
            message = f"should be a [{key}] table"
        elif kind == "string_type":
            message = "should be text in quotes"
        elif kind == "string_too_short":
            message = "is empty"
        elif kind in ("bool_type", "bool_parsing"):
            message = "should be true or false"
        else:
            message = message.removeprefix("Input ")
        parts.append(f"{key}: {message}")
    return "; ".join(parts)


def mapping_from_dict(raw: dict[str, Any], name: str = "<dict>") -> Mapping:
    """Check a mapping given as a dict (as it would be read from TOML); for tests and callers without a file."""
    try:
        return Mapping.model_validate(raw)
    except ValidationError as exc:
        raise MappingError(f"mapping {name}: {describe_mapping_errors(exc)}") from None
