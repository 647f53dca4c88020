"""Settings from the environment (prefix ``COMPLAINTFLOW_``) and the command line.

Twilio's and the public URL's names are the ones operators already know, unprefixed: ``TWILIO_ACCOUNT_SID``,
``TWILIO_AUTH_TOKEN``, ``TWILIO_FROM`` or ``TWILIO_MESSAGING_SERVICE_SID``, ``TWILIO_API_BASE_URL`` and
``PUBLIC_BASE_URL``; each is also read with the ``COMPLAINTFLOW_`` prefix (which wins when both are set).
"""

from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from notifiers.sending_window import parse_quiet_hours
from notifiers.twilio_http import TWILIO_API_BASE_URL
from notifiers.twilio_sms import INBOUND_PATH, STATUS_CALLBACK_PATH

DEFAULT_DATA_DIR = Path("data")


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"COMPLAINTFLOW_{name}", name)


def _check_base_url(value: str | None, name: str) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"{name} must look like https://host[:port][/prefix], not {value!r}")
    return value


class TwilioSettings(BaseSettings):
    """Twilio credentials and sender; SMS go through Twilio when these are set, else the embedded notifier."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    account_sid: str | None = Field(default=None, validation_alias=_env("TWILIO_ACCOUNT_SID"))
    auth_token: SecretStr | None = Field(default=None, validation_alias=_env("TWILIO_AUTH_TOKEN"))
    from_number: str | None = Field(default=None, validation_alias=_env("TWILIO_FROM"))
    messaging_service_sid: str | None = Field(
        default=None, validation_alias=_env("TWILIO_MESSAGING_SERVICE_SID")
    )
    api_base_url: str = Field(default=TWILIO_API_BASE_URL, validation_alias=_env("TWILIO_API_BASE_URL"))

    @field_validator("account_sid", "from_number", "messaging_service_sid", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("auth_token", mode="before")
    @classmethod
    def _blank_token_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("api_base_url")
    @classmethod
    def _api_base_url(cls, value: str) -> str:
        return _check_base_url(value, "TWILIO_API_BASE_URL") or TWILIO_API_BASE_URL

    @property
    def given(self) -> list[str]:
        """The Twilio settings that are set (any one of them means Twilio was meant to be used)."""
        values = {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_FROM": self.from_number,
            "TWILIO_MESSAGING_SERVICE_SID": self.messaging_service_sid,
        }
        return [name for name, value in values.items() if value is not None]

    @property
    def missing(self) -> list[str]:
        """What Twilio still needs, once any of its settings is given."""
        missing = [
            name
            for name, value in (
                ("TWILIO_ACCOUNT_SID", self.account_sid),
                ("TWILIO_AUTH_TOKEN", self.auth_token),
            )
            if value is None
        ]
        if self.from_number is None and self.messaging_service_sid is None:
            missing.append("TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        return missing

    @property
    def enabled(self) -> bool:
        return bool(self.given) and not self.missing


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPLAINTFLOW_", extra="ignore", populate_by_name=True)

    database_url: str = f"sqlite:///{DEFAULT_DATA_DIR / 'complaintflow.db'}"
    data_dir: Path = DEFAULT_DATA_DIR
    policy: Path | None = None
    routing: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = Field(default=None, validation_alias=_env("PUBLIC_BASE_URL"))
    """Where people and Twilio reach this service (behind its TLS proxy): progress links, status callbacks,
    and the URL Twilio's webhook signatures are checked against."""
    sweep_seconds: float = 60.0
    dispatch_seconds: float = 2.0
    sms_rate_per_second: float = Field(default=10.0, ge=0)
    """SMS sent per second at most, per running service; 0 sends as fast as the provider answers."""
    sms_timeout_seconds: float = Field(default=10.0, gt=0)
    """Connect and read time-out of each call to the SMS provider."""
    sms_reconcile_after_seconds: float = Field(default=30.0, gt=0)
    """How old a send left without an answer must be before the provider is asked what became of it."""
    sms_quiet_hours: str = "22:00-08:00"
    """Local hours (the policy's time zone) in which progress SMS wait until the end; empty: no quiet hours.
    The receipt (``received``) and the resolution (``resolved``) SMS go at once."""
    sms_daily_cap: int = Field(default=10, ge=0)
    """SMS per number per local day; more wait for the next day (``received`` / ``resolved`` never wait).
    0: no cap."""
    twilio: TwilioSettings = Field(default_factory=TwilioSettings)

    @field_validator("sms_quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value.strip()

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url(cls, value: str | None) -> str | None:
        return _check_base_url(value, "PUBLIC_BASE_URL")

    @model_validator(mode="after")
    def _reconcile_after_exceeds_timeout(self) -> Self:
        if self.sms_reconcile_after_seconds <= self.sms_timeout_seconds:
            raise ValueError(
                "COMPLAINTFLOW_SMS_RECONCILE_AFTER_SECONDS must be longer than COMPLAINTFLOW_SMS_TIMEOUT_SECONDS, "
                "or a message still being sent could be sent again"
            )
        return self

    @property
    def sms_outbox_path(self) -> Path:
        return self.data_dir / "sms-outbox.jsonl"

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"

    @property
    def twilio_status_url(self) -> str | None:
        """The URL Twilio posts status callbacks to, and the one their signatures are computed for."""
        return f"{self.public_base_url}{STATUS_CALLBACK_PATH}" if self.public_base_url else None

    @property
    def twilio_inbound_url(self) -> str | None:
        """The URL to set as the number's "A message comes in" webhook; its signatures are checked for it."""
        return f"{self.public_base_url}{INBOUND_PATH}" if self.public_base_url else None
