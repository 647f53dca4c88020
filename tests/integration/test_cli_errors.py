"""The command line refuses bad settings with one line that says what to fix, before touching anything."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.conftest import REPO

SAMPLE = REPO / "tests" / "fixtures" / "importing"
IMPORT = [
    "import",
    str(SAMPLE / "complaints_sample.csv"),
    "--mapping",
    str(SAMPLE / "complaints_sample.toml"),
]
SUPPORTED = "give sqlite:///path/to/file.db or postgresql://user@host:5432/dbname"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nonsense://x", f"error: unsupported database 'nonsense'; {SUPPORTED}"),
        ("not a url", f"error: 'not a url' is not a database URL; {SUPPORTED}"),
        ("sqlite:///", "error: SQLite needs a file, e.g. sqlite:///data/complaintflow.db"),
        (
            "sqlite:////proc/complaintflow.db",
            "error: cannot open the database sqlite:////proc/complaintflow.db: unable to open database file",
        ),
    ],
)
def test_a_bad_database_url_is_one_line(url: str, message: str) -> None:
    for command in (IMPORT, ["serve", "--port", "8199"]):
        result = CliRunner().invoke(cli, [*command, "--database-url", url])
        assert result.exit_code == 2, (command, result.output)
        assert result.output.strip() == message


def test_an_unreachable_postgres_hides_the_password() -> None:
    result = CliRunner().invoke(cli, [*IMPORT, "--database-url", "postgresql://cf:secret@127.0.0.1:1/cf"])
    assert result.exit_code == 2
    assert result.output.startswith(
        "error: cannot open the database postgresql+psycopg://cf:***@127.0.0.1:1/cf: "
    )
    assert "secret" not in result.output and "\n" not in result.output.strip()


def test_a_missing_policy_is_refused_before_any_database_is_made(tmp_path: Path) -> None:
    database = tmp_path / "never.db"
    result = CliRunner().invoke(
        cli, ["serve", "--policy", str(tmp_path / "nope.toml"), "--database-url", f"sqlite:///{database}"]
    )
    assert (result.exit_code, result.output.strip()) == (
        2,
        f"error: policy file not found: {tmp_path / 'nope.toml'}",
    )
    assert not database.exists()
