"""Settings, notifiers and outbox reads for tests that send SMS through the fake Twilio."""

from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlmodel import col, select

from app.runtime import Runtime
from app.settings import Settings, TwilioSettings
from models import Notification, NotificationChannel
from notifiers.twilio_sms import TwilioSmsConfig, TwilioSmsNotifier
from tests.fakes.fake_twilio import FAKE_AUTH_TOKEN, FAKE_FROM, FakeTwilio

PUBLIC = "https://ts.example.gov.cn"
STATUS_URL = f"{PUBLIC}/webhooks/twilio/status"


def twilio_settings(tmp_path: Path, sqlite_url: str, fake: FakeTwilio, **extra: Any) -> Settings:
    """Settings that send through ``fake``, unpaced unless ``sms_rate_per_second`` is given."""
    values: dict[str, Any] = {
        "database_url": sqlite_url,
        "data_dir": tmp_path / "data",
        "public_base_url": PUBLIC,
        "sms_rate_per_second": 0,
        "twilio": TwilioSettings(
            account_sid=fake.account_sid,
            auth_token=fake.auth_token,
            from_number=FAKE_FROM,
            api_base_url=fake.base_url,
        ),
    }
    values.update(extra)
    return Settings(**values)


def notifier_for(fake: FakeTwilio, **extra: Any) -> TwilioSmsNotifier:
    values: dict[str, Any] = {
        "account_sid": fake.account_sid,
        "auth_token": SecretStr(FAKE_AUTH_TOKEN),
        "from_number": FAKE_FROM,
        "api_base_url": fake.base_url,
        "timeout_seconds": 5.0,
    }
    values.update(extra)
    return TwilioSmsNotifier(TwilioSmsConfig(**values))


def sms_rows(runtime: Runtime) -> list[Notification]:
    with runtime.db.read() as session:
        statement = (
            select(Notification)
            .where(Notification.channel == NotificationChannel.SMS)
            .order_by(col(Notification.id))
        )
        return list(session.exec(statement))
