"""Tests. Prefect reads its settings on import: keep its state out of the user's home, per session."""

import tempfile
from pathlib import Path

from app.prefect_env import configure_prefect

configure_prefect(Path(tempfile.mkdtemp(prefix="complaintflow-prefect-")))
