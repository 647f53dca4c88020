"""SMS settings from the environment: Twilio's own names, the COMPLAINTFLOW_ ones, secrets kept out of sight."""

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from app.cli import cli
from app.settings import Settings
from notifiers.masking import mask_phones_in
from tests.fakes.fake_twilio import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, FAKE_FROM


def test_twilio_is_read_from_its_unprefixed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", FAKE_ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", FAKE_AUTH_TOKEN)
    monkeypatch.setenv("TWILIO_FROM", FAKE_FROM)
    monkeypatch.setenv("TWILIO_API_BASE_URL", "http://127.0.0.1:8765/")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://ts.example.gov.cn/")

    settings = Settings()

    twilio = settings.twilio
    assert (twilio.account_sid, twilio.from_number, twilio.messaging_service_sid) == (
        FAKE_ACCOUNT_SID,
        FAKE_FROM,
        None,
    )
    assert twilio.auth_token is not None and twilio.auth_token.get_secret_value() == FAKE_AUTH_TOKEN
    assert twilio.api_base_url == "http://127.0.0.1:8765"
    assert (twilio.enabled, twilio.missing) == (True, [])
    assert settings.twilio_status_url == "https://ts.example.gov.cn/webhooks/twilio/status"
    assert FAKE_AUTH_TOKEN not in repr(settings)
    assert FAKE_AUTH_TOKEN not in str(settings.model_dump())


def test_prefixed_names_keep_working_and_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://other.example.gov.cn")
    monkeypatch.setenv("COMPLAINTFLOW_PUBLIC_BASE_URL", "https://ts.example.gov.cn")
    monkeypatch.setenv("COMPLAINTFLOW_TWILIO_MESSAGING_SERVICE_SID", "MG" + "0" * 32)
    monkeypatch.setenv("COMPLAINTFLOW_SMS_RATE_PER_SECOND", "2.5")

    settings = Settings()

    assert settings.public_base_url == "https://ts.example.gov.cn"
    assert settings.twilio.messaging_service_sid == "MG" + "0" * 32
    assert settings.sms_rate_per_second == 2.5
    assert settings.twilio.missing == ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"]


def test_nothing_set_means_no_twilio() -> None:
    settings = Settings()

    assert (settings.twilio.given, settings.twilio.enabled, settings.twilio_status_url) == ([], False, None)


@pytest.mark.parametrize(
    "url", ["ts.example.gov.cn", "ftp://ts.example.gov.cn", "https://ts.example.gov.cn/?a=1"]
)
def test_public_base_url_must_be_a_plain_http_url(url: str) -> None:
    with pytest.raises(ValidationError, match="PUBLIC_BASE_URL must look like https://host"):
        Settings(public_base_url=url)


def test_reconcile_wait_must_outlast_the_send_timeout() -> None:
    with pytest.raises(ValidationError, match="SMS_RECONCILE_AFTER_SECONDS must be longer"):
        Settings(sms_timeout_seconds=30, sms_reconcile_after_seconds=30)


def test_serve_refuses_a_half_configured_twilio(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", FAKE_ACCOUNT_SID)
    monkeypatch.setenv("COMPLAINTFLOW_DATA_DIR", str(tmp_path))

    result = CliRunner().invoke(
        cli, ["serve", "--database-url", f"sqlite:///{tmp_path / 'cf.db'}", "--port", "1"]
    )

    assert result.exit_code == 2
    assert "Twilio is partly configured (TWILIO_ACCOUNT_SID set)" in " ".join(result.output.split())


def test_numbers_inside_provider_messages_are_masked() -> None:
    text = "Unable to create record: The 'To' number +8613123456789 is not a valid phone number."

    assert mask_phones_in(text) == (
        "Unable to create record: The 'To' number +86 131****6789 is not a valid phone number."
    )
