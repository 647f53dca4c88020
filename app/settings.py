"""Settings from the environment (prefix ``COMPLAINTFLOW_``) and the command line."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPLAINTFLOW_", extra="ignore")

    database_url: str = f"sqlite:///{DEFAULT_DATA_DIR / 'complaintflow.db'}"
    data_dir: Path = DEFAULT_DATA_DIR
    policy: Path | None = None
    routing: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = None
    sweep_seconds: float = 60.0
    dispatch_seconds: float = 2.0

    @property
    def sms_outbox_path(self) -> Path:
        return self.data_dir / "sms-outbox.jsonl"

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"
