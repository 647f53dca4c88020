"""Apply the Alembic migrations that ship inside the package (no alembic.ini needed)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from models.db import ensure_sqlite_folder, normalise_url

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the schema at ``url`` to the newest revision; safe to call on every start."""
    ensure_sqlite_folder(url)
    command.upgrade(alembic_config(url), "head")
