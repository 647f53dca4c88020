"""Keep the department table in step with the shipped routing table."""

from sqlmodel import Session

from models import Department
from workflows.routing import RoutingTable


def sync_departments(session: Session, routing: RoutingTable) -> int:
    """Insert or update every department of the routing table; returns how many there are."""
    for info in routing.departments.values():
        row = session.get(Department, info.code)
        if row is None:
            session.add(Department(code=info.code, name_zh=info.name_zh, name_en=info.name_en))
        else:
            row.name_zh, row.name_en = info.name_zh, info.name_en
    return len(routing.departments)
