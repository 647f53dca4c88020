"""Per-process caches for flow tasks: one Database and one DomainConfig per URL / policy path."""

from collections.abc import Iterable, Iterator
from functools import cache
from itertools import islice
from typing import TypeVar

from models.db import Database
from workflows.config import DomainConfig

T = TypeVar("T")


@cache
def database(url: str) -> Database:
    return Database(url)


@cache
def domain_config(policy_path: str | None) -> DomainConfig:
    return DomainConfig.load(policy_path)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``itertools.batched`` for Python 3.11: lists of ``size`` items, the last one shorter."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
