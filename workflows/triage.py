"""Sort a complaint into simple or complex (分级响应) and record which rules matched."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from models import Complaint, Complexity, Status
from workflows.policy import Policy
from workflows.routing import RoutingTable

OPEN_STATUSES = (
    Status.RECEIVED,
    Status.ACCEPTED,
    Status.ASSIGNED,
    Status.RESPONDED,
    Status.IN_PROGRESS,
    Status.PAUSED,
)


@dataclass(frozen=True)
class TriageResult:
    complexity: Complexity
    reasons: list[dict[str, Any]]
    suggested_department: str


@dataclass(frozen=True)
class OpenMatter:
    """An open complaint of some enterprise, for the repeat-complaint rule."""

    enterprise_key: str
    credit_code: str | None
    tracking_no: str
    received_at: datetime


def triage(
    *,
    title: str,
    description: str,
    category: str | None,
    repeat_of: str | None,
    policy: Policy,
    routing: RoutingTable,
) -> TriageResult:
    """Apply the policy's rules in order; any match makes the complaint complex.

    ``repeat_of`` is the tracking number of an open matter of the same enterprise filed within the
    policy's window (see ``latest_open_matter``), or None.
    """
    text = f"{title}\n{description}"
    rules = policy.triage
    reasons: list[dict[str, Any]] = []

    named = routing.departments_named(text)
    if len(named) >= rules.multi_department_threshold:
        names = [routing.departments[code].name_zh for code in named]
        reasons.append({"rule": "multi_department", "detail": "、".join(names), "departments": named})

    keywords = [k for k in rules.complex_keywords if k in text]
    if keywords:
        reasons.append({"rule": "keyword", "detail": "、".join(keywords)})

    if category is not None and category in rules.complex_categories:
        reasons.append({"rule": "complex_category", "detail": category})

    if repeat_of is not None:
        reasons.append({"rule": "repeat_complaint", "detail": repeat_of})

    if category is not None:
        department = routing.department_for_category(category)
    else:
        department = named[0] if named else routing.default_department

    if reasons:
        return TriageResult(Complexity.COMPLEX, reasons, department)
    return TriageResult(
        Complexity.SIMPLE, [{"rule": "default", "detail": "no complex rule matched"}], department
    )


def open_matters(
    session: Session, keys: Iterable[str], codes: Iterable[str], since: datetime, until: datetime
) -> list[OpenMatter]:
    """Open complaints received in [since, until] of any of these enterprises (by name key or credit code)."""
    keys, codes = sorted(set(keys)), sorted(set(codes))
    same_enterprise: ColumnElement[bool] = col(Complaint.enterprise_key).in_(keys)
    if codes:
        same_enterprise = or_(same_enterprise, col(Complaint.credit_code).in_(codes))
    statement = (
        select(Complaint.enterprise_key, Complaint.credit_code, Complaint.tracking_no, Complaint.received_at)
        .where(same_enterprise)
        .where(col(Complaint.status).in_(OPEN_STATUSES))
        .where(col(Complaint.received_at) >= since, col(Complaint.received_at) <= until)
    )
    return [OpenMatter(*row) for row in session.exec(statement)]


class OpenMatters:
    """Open matters indexed by enterprise name key and credit code, for the repeat-complaint rule."""

    def __init__(self, matters: Iterable[OpenMatter], policy: Policy) -> None:
        self.window = policy.triage.repeat_window
        self.by_key: dict[str, list[OpenMatter]] = defaultdict(list)
        self.by_code: dict[str, list[OpenMatter]] = defaultdict(list)
        for matter in matters:
            self.add(matter)

    def add(self, matter: OpenMatter) -> None:
        self.by_key[matter.enterprise_key].append(matter)
        if matter.credit_code:
            self.by_code[matter.credit_code].append(matter)

    def latest(self, key: str, code: str | None, received_at: datetime) -> str | None:
        """The most recent open matter of the same enterprise within the window before ``received_at``."""
        since = received_at - self.window
        candidates = self.by_key.get(key, []) + (self.by_code.get(code, []) if code else [])
        best: OpenMatter | None = None
        for matter in candidates:
            if since <= matter.received_at <= received_at and (
                best is None or matter.received_at > best.received_at
            ):
                best = matter
        return best.tracking_no if best else None
