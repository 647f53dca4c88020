"""The SLA and triage policy: targets per complexity, level fractions, triage rules (a TOML file)."""

import math
import re
import tomllib
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from models.enums import ClockKind, Complexity, LevelName

DEFAULT_POLICY_PATH = Path(__file__).with_name("data") / "default_policy.toml"

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = timedelta(days=366)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the key to fix."""


def known_zone(value: str) -> str:
    """Refuse a time-zone name zoneinfo does not know, with a message that says what to write."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{value}': use an IANA name such as Asia/Shanghai") from None
    return value


def parse_duration(value: Any) -> timedelta:
    """Read ``90``, ``"90s"``, ``"15m"``, ``"12h"``, ``"15d"`` or ``"1d12h"`` as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text such as '12h'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        else:
            parts = _DURATION.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ValueError(f"'{value}' is not a duration: write e.g. 30s, 15m, 12h, 15d or 1d12h")
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    else:
        raise ValueError("a duration is a number of seconds or text such as '12h'")
    if not math.isfinite(seconds):
        raise ValueError(f"'{value}' is not a finite duration: write e.g. 30s, 15m, 12h, 15d or 1d12h")
    if seconds <= 0:
        raise ValueError("a duration must be longer than zero")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(
            f"'{value}' is longer than {MAX_DURATION.days} days, the longest target a policy may set"
        )
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Calendar(_Strict):
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)


class Levels(_Strict):
    warning: float = Field(0.75, gt=0)
    breach: float = Field(1.0, gt=0)
    escalation: float = Field(1.5, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Levels":
        if not self.warning < self.breach < self.escalation:
            raise ValueError("levels must grow: warning < breach < escalation")
        return self

    def ordered(self) -> list[tuple[LevelName, float]]:
        return [
            (LevelName.WARNING, self.warning),
            (LevelName.BREACH, self.breach),
            (LevelName.ESCALATION, self.escalation),
        ]


class Targets(_Strict):
    response: Duration
    resolution: Duration
    update: Duration | None = None


class Triage(_Strict):
    complex_keywords: list[str] = Field(default_factory=list)
    complex_categories: list[str] = Field(default_factory=list)
    multi_department_threshold: int = Field(2, ge=2)
    repeat_window: Duration = timedelta(days=30)


class NotificationPolicy(_Strict):
    supervisor_recipient: str = "role:supervisor"
    public_base_url: str = "http://127.0.0.1:8000"


class Feedback(_Strict):
    rating_window: Duration = timedelta(days=7)
    """How long after resolution an SMS rating (1 / 2 / 3) is still taken for a complaint already closed."""


class Policy(_Strict):
    calendar: Calendar = Calendar()
    levels: Levels = Levels()
    targets: dict[Complexity, Targets]
    triage: Triage = Triage()
    notifications: NotificationPolicy = NotificationPolicy()
    feedback: Feedback = Feedback()

    @model_validator(mode="after")
    def _both_complexities(self) -> "Policy":
        missing = [c.value for c in Complexity if c not in self.targets]
        if missing:
            raise ValueError(f"targets for {', '.join(missing)} are missing: add [targets.<complexity>]")
        if self.targets[Complexity.COMPLEX].update is None:
            raise ValueError("targets.complex.update is required (the progress cadence of complex cases)")
        return self

    def target(self, complexity: Complexity, kind: ClockKind) -> timedelta | None:
        return self._target_table[(complexity, kind)]

    @cached_property
    def _target_table(self) -> dict[tuple[Complexity, ClockKind], timedelta | None]:
        table: dict[tuple[Complexity, ClockKind], timedelta | None] = {}
        for complexity, targets in self.targets.items():
            table[(complexity, ClockKind.RESPONSE)] = targets.response
            table[(complexity, ClockKind.RESOLUTION)] = targets.resolution
            table[(complexity, ClockKind.UPDATE)] = targets.update
        return table

    @cached_property
    def level_list(self) -> list[tuple[LevelName, float]]:
        return self.levels.ordered()


def load_policy(path: Path | str | None = None) -> Policy:
    """Load and check a policy file; the shipped default when no path is given."""
    source = Path(path) if path else DEFAULT_POLICY_PATH
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(f"policy file not found: {source}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise PolicyError(f"{source}: {problems}") from exc
