"""Category → department routing and the department names triage looks for in a complaint's text."""

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from workflows.errors import InvalidInput

DEFAULT_ROUTING_PATH = Path(__file__).with_name("data") / "routing.toml"


@dataclass(frozen=True)
class DepartmentInfo:
    code: str
    name_zh: str
    name_en: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoutingTable:
    default_department: str
    departments: dict[str, DepartmentInfo]
    categories: dict[str, str]
    # Longest alias first, so "综合行政执法" wins over "执法局" when both could match.
    _aliases: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def department_for_category(self, category: str) -> str:
        try:
            return self.categories[category]
        except KeyError:
            known = "、".join(self.categories)
            raise InvalidInput("category", f"unknown category '{category}'; use one of: {known}") from None

    def departments_named(self, text: str) -> list[str]:
        """Codes of the departments or enforcement fields ``text`` names, in order of first mention."""
        found: dict[str, None] = {}
        for match in self._pattern.finditer(text):
            found.setdefault(self._code_of[match.group()], None)
        return list(found)

    @cached_property
    def _code_of(self) -> dict[str, str]:
        names = dict(self._aliases)
        for category, code in self.categories.items():
            # Two-character fields (教育, 住建) are too common in text to count as naming a department.
            if len(category) >= 3:
                names.setdefault(category, code)
        return names

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        # Longest first, so "综合行政执法" wins over "执法局" where both could match.
        return re.compile("|".join(re.escape(name) for name in sorted(self._code_of, key=len, reverse=True)))


def load_routing(path: Path | str | None = None) -> RoutingTable:
    source = Path(path) if path else DEFAULT_ROUTING_PATH
    raw = tomllib.loads(source.read_text(encoding="utf-8"))
    departments = {
        d["code"]: DepartmentInfo(d["code"], d["name_zh"], d["name_en"], tuple(d.get("aliases", ())))
        for d in raw["department"]
    }
    categories: dict[str, str] = dict(raw["categories"])
    unknown = sorted({code for code in categories.values() if code not in departments})
    if unknown or raw["default_department"] not in departments:
        raise ValueError(f"{source}: categories route to unknown departments: {unknown}")
    aliases = sorted(
        ((alias, info.code) for info in departments.values() for alias in (info.name_zh, *info.aliases)),
        key=lambda pair: -len(pair[0]),
    )
    return RoutingTable(raw["default_department"], departments, categories, tuple(aliases))
