"""Prefect settings that must be in place before ``prefect`` is imported."""

import os
from pathlib import Path


def configure_prefect(home: Path) -> None:
    """Keep Prefect's state in the service's data folder and give its ephemeral server time to start.

    On these 2-core machines the ephemeral API server takes about 25 s to start, past its default
    time-out (prefect #14878); and without PREFECT_HOME it writes into the user's home.
    """
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home.resolve()))
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_CLIENT_ENABLE_METRICS", "false")
