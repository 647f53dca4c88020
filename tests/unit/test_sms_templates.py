"""Every shipped SMS template renders to at most 2 segments with realistic values; sms-preview shows it."""

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.sms_preview import preview, sample_params
from notifiers.segments import count_segments
from notifiers.templates import SMS_TEMPLATES, render_sms
from workflows.config import DomainConfig

LONG_LINK_BASE = "https://12345.chengdu-district.example.gov.cn"


@pytest.mark.parametrize("name", list(SMS_TEMPLATES))
def test_chinese_template_fits_two_segments(name: str, config: DomainConfig) -> None:
    params = sample_params(config, "zh") | {"link": f"{LONG_LINK_BASE}/p/k7m2x9q4abcd"}
    count = count_segments(render_sms(name, params, "zh"))
    assert count.encoding == "UCS-2"
    assert count.segments <= 2, (name, count)


def test_received_template_exact_text(config: DomainConfig) -> None:
    body, count = preview(config, text=None, template="received", locale="zh")
    assert body == (
        "【即诉即办】您的投诉已受理，受理编号261203-0042-6，将于12月31日23:59前响应、12月31日23:59前办结。"
        "进度：http://127.0.0.1:8000/p/k7m2x9q4abcd"
    )
    assert (count.encoding, count.characters, count.segments) == ("UCS-2", 103, 2)


def test_sms_preview_command_prints_body_encoding_and_segments() -> None:
    result = CliRunner().invoke(cli, ["sms-preview", "--text", "Hello {world} €"])
    assert result.exit_code == 0
    assert result.output == "Hello {world} €\n\nencoding: GSM-7   characters: 15   units: 18   segments: 1\n"


def test_sms_preview_refuses_unknown_template() -> None:
    result = CliRunner().invoke(cli, ["sms-preview", "--template", "nope"])
    assert result.exit_code == 2
    assert "unknown template 'nope'" in result.output


def test_sms_preview_flags_a_body_that_would_be_refused() -> None:
    result = CliRunner().invoke(cli, ["sms-preview", "--text", "长" * 1601])
    assert result.exit_code == 0
    assert result.output.endswith("refused: longer than 1600 characters; it would never be sent\n")


def test_sms_preview_refuses_an_empty_text() -> None:
    result = CliRunner().invoke(cli, ["sms-preview", "--text", "  "])
    assert result.exit_code == 2
    assert "--text is empty: give the body to count" in result.output


def test_logs_cut_progress_keys_and_mask_phones() -> None:
    from notifiers.masking import mask_secrets_in

    line = "SMS to +8613123456789: 进度：https://ts.example.gov.cn/p/k7m2x9q4abcd 另见 /t/261203-0042-6"
    assert mask_secrets_in(line) == (
        "SMS to +86 131****6789: 进度：https://ts.example.gov.cn/p/k7********** 另见 /t/261203-0042-6"
    )
