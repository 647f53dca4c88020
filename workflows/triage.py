"""Sort a complaint into simple or complex (分级响应) and record which rules matched."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_
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


def triage(
    session: Session,
    *,
    title: str,
    description: str,
    category: str | None,
    enterprise_key: str,
    credit_code: str | None,
    received_at: datetime,
    policy: Policy,
    routing: RoutingTable,
) -> TriageResult:
    """Apply the policy's rules in order; any match makes the complaint complex."""
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

    repeat = _open_matter_of_same_enterprise(
        session, enterprise_key, credit_code, received_at - rules.repeat_window, received_at
    )
    if repeat is not None:
        reasons.append({"rule": "repeat_complaint", "detail": repeat})

    if category is not None:
        department = routing.department_for_category(category)
    else:
        department = named[0] if named else routing.default_department

    if reasons:
        return TriageResult(Complexity.COMPLEX, reasons, department)
    return TriageResult(
        Complexity.SIMPLE, [{"rule": "default", "detail": "no complex rule matched"}], department
    )


def _open_matter_of_same_enterprise(
    session: Session, enterprise_key: str, credit_code: str | None, since: datetime, until: datetime
) -> str | None:
    same_enterprise = col(Complaint.enterprise_key) == enterprise_key
    if credit_code:
        same_enterprise = or_(same_enterprise, col(Complaint.credit_code) == credit_code)
    statement = (
        select(Complaint.tracking_no)
        .where(same_enterprise)
        .where(col(Complaint.status).in_(OPEN_STATUSES))
        .where(col(Complaint.received_at) >= since, col(Complaint.received_at) <= until)
        .order_by(col(Complaint.received_at).desc())
        .limit(1)
    )
    return session.exec(statement).first()
