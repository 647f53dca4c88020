"""Departments complaints are routed to (seeded from the shipped routing table)."""

from sqlmodel import Field, SQLModel


class Department(SQLModel, table=True):
    __tablename__ = "department"

    code: str = Field(primary_key=True, max_length=32)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
