"""The mapping-file reader behind `complaintflow import` and `replay`: mappings, rows, times, real data."""

import csv
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from models.enums import Channel
from workflows.importing import (
    ImportRow,
    Mapping,
    MappingError,
    Outcome,
    SourceFileError,
    load_mapping,
    read_rows,
)
from workflows.importing.reader import _TimeReader

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "importing"
SAMPLE_CSV = FIXTURES / "complaints_sample.csv"
SAMPLE_MAPPING = FIXTURES / "complaints_sample.toml"
DATA = (REPO / "../shared/data/cn_teddycup2020").resolve()
FJ4 = DATA / "fj4_messages_replies_2816.csv"
FJ3 = DATA / "fj3_messages_votes_4326.csv"


def needs(path: Path) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not path.is_file(),
        reason=f"real data {path.name} not found in {DATA} (shared/ beside the repository)",
    )


MINIMAL = """
[fields]
channel_ref = "编号"
received_at = "时间"
title = "标题"
description = "内容"
enterprise_name = "用户"
contact_name = "用户"

[constants]
channel = "app"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def sample_xlsx(tmp_path: Path) -> Path:
    """Write the CSV fixture as a workbook, with real date cells wherever a time parses."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "投诉"
    with SAMPLE_CSV.open(encoding="utf-8", newline="") as file:
        for cells in csv.reader(file):
            row: list[object] = []
            for cell in cells:
                try:
                    row.append(datetime.strptime(cell, "%Y-%m-%d %H:%M:%S"))
                except ValueError:
                    row.append(cell or None)
            sheet.append(row)
    path = tmp_path / "complaints_sample.xlsx"
    book.save(path)
    return path


def by_row(rows: list[ImportRow]) -> dict[int, ImportRow]:
    return {row.row_no: row for row in rows}


# --- the sample fixture, as CSV and as XLSX -------------------------------------------------------


@pytest.fixture(params=["csv", "xlsx"])
def sample_rows(request: pytest.FixtureRequest, tmp_path: Path) -> list[ImportRow]:
    path = SAMPLE_CSV if request.param == "csv" else sample_xlsx(tmp_path)
    return list(read_rows(path, load_mapping(SAMPLE_MAPPING)))


def test_read_rows_numbers_rows_as_a_spreadsheet_shows_them(sample_rows: list[ImportRow]) -> None:
    # Row 3 spans two lines of the CSV; row 6 is empty, skipped but counted.
    assert [row.row_no for row in sample_rows] == [2, 3, 4, 5, 7, 8, 9]
    assert [row.row_no for row in sample_rows if row.ok] == [2, 3, 9]


def test_read_rows_reports_each_bad_row_with_its_reason(sample_rows: list[ImportRow]) -> None:
    errors = {row.row_no: row.error for row in sample_rows if not row.ok}
    assert errors == {
        4: "received_at: '2024-13-45 08:00:00' does not match %Y-%m-%d %H:%M:%S",
        5: "title: empty cell in column '标题'",
        7: "channel: 'web' is not one of 'hotline', 'app' or 'qr'",
        8: "responded_at: '2024-03-07 08:00:00' is before received_at '2024-03-07 12:00:00'",
    }
    assert all(row.submission is None and row.outcome is None for row in sample_rows if not row.ok)


def test_read_rows_maps_every_field_of_a_good_row(sample_rows: list[ImportRow]) -> None:
    row = by_row(sample_rows)[2]
    assert row.submission is not None
    assert row.submission.model_dump() == {
        "channel": Channel.HOTLINE,
        "channel_ref": "T-001",
        "received_at": datetime(2024, 3, 1, 1, 30, tzinfo=UTC),  # 09:30 in Shanghai
        "enterprise_name": "示例测试甲有限公司",
        "credit_code": "91000000FAKE00001X",
        "contact_name": "张测试",
        "contact_phone": "100-0000-0001",
        "title": "检查前未收到通知",
        "description": "执法人员未提前通知即到场检查。",
        "category": None,
        "inspection_ref": None,
    }
    assert row.outcome == Outcome(
        responded_at=datetime(2024, 3, 1, 7, 0, tzinfo=UTC),
        resolved_at=datetime(2024, 3, 2, 2, 0, tzinfo=UTC),
        response_note="已联系企业说明情况。",
    )
    assert row.truncated == ()


def test_read_rows_keeps_line_breaks_trims_cells_and_reads_empty_cells_as_none(
    sample_rows: list[ImportRow],
) -> None:
    rows = by_row(sample_rows)
    multiline, spaced = rows[3].submission, rows[9].submission
    assert multiline is not None and spaced is not None
    assert multiline.description == "第一行说明。\n第二行说明。"
    assert multiline.credit_code is None and multiline.contact_phone is None
    assert rows[3].outcome == Outcome(None, None, None)
    assert spaced.enterprise_name == "示例测试庚有限公司"
    assert spaced.title == "前后有空格"
    # 00:30 in Shanghai is the previous day in UTC.
    assert spaced.received_at == datetime(2024, 3, 7, 16, 30, tzinfo=UTC)


# --- truncation -------------------------------------------------------------------------------------


def long_text_csv(tmp_path: Path) -> Path:
    long_text = "很长的内容" * 1000  # 5,000 characters
    return write(
        tmp_path,
        "long.csv",
        f"编号,时间,标题,内容,用户\nL-1,2024-03-01 09:30:00,标题,{long_text},测试用户\n",
    )


def test_read_rows_fails_an_over_long_description_without_truncate(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, "m.toml", MINIMAL))
    [row] = read_rows(long_text_csv(tmp_path), mapping)
    assert (row.row_no, row.error) == (2, "description: longer than 4000 characters")


def test_read_rows_truncates_a_long_description_and_says_so(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, "m.toml", MINIMAL + "\n[truncate]\ndescription = true\n"))
    [row] = read_rows(long_text_csv(tmp_path), mapping)
    assert row.submission is not None
    assert len(row.submission.description) == 4000
    assert row.submission.description == ("很长的内容" * 1000)[:3999] + "…"
    assert row.truncated == ("description",)


# --- the mapping file itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('title = "标题"', 'titel = "标题"'),
            "fields.titel: not a complaint field; use one of: channel, channel_ref, received_at, "
            "enterprise_name, credit_code, contact_name, contact_phone, title, description, category, "
            "inspection_ref",
        ),
        (
            ('title = "标题"\n', ""),
            "no column for required field 'title': add fields.title = \"<column header>\" "
            'or constants.title = "<value>"',
        ),
        (
            ('channel = "app"', 'channel = "web"'),
            "constants.channel: 'web' is not one of 'hotline', 'app' or 'qr'",
        ),
        (
            ("[constants]", '[source]\nencodng = "utf-8"\n[constants]'),
            "source.encodng: unknown key; allowed: format, encoding, delimiter, sheet, time_format, timezone",
        ),
        (
            ("[constants]", '[source]\ntimezone = "Asia/Beijing"\n[constants]'),
            "source.timezone: unknown time zone 'Asia/Beijing': use an IANA name such as Asia/Shanghai",
        ),
        (
            ("[constants]", "[truncate]\nchannel_ref = true\n[constants]"),
            "truncate.channel_ref: only free text can be truncated: title, description, enterprise_name, "
            "contact_name, category, response_note",
        ),
        (
            ("[constants]", "[truncate]\ncategory = true\n[constants]"),
            "truncate.category: category is not read from a column",
        ),
        (
            ('channel = "app"', 'channel = "app"\ntitle = "固定标题"'),
            "title is in both [fields] and [constants]; keep one",
        ),
        (
            ("[fields]", "[field]"),
            "fields: missing; add a [fields] section; field: unknown section; allowed: "
            "source, fields, constants, truncate, outcome",
        ),
        (('title = "标题"', "title = 3"), "fields.title: should be text in quotes"),
    ],
)
def test_load_mapping_names_the_key_to_fix(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in MINIMAL
    path = write(tmp_path, "m.toml", MINIMAL.replace(old, new, 1))
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert caught.value.message == f"mapping {path}: {message}"


def test_load_mapping_accepts_no_received_at_when_there_is_no_outcome(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, "m.toml", MINIMAL.replace('received_at = "时间"\n', "")))
    assert isinstance(mapping, Mapping)
    assert "received_at" not in mapping.fields


def test_load_mapping_refuses_outcome_without_received_at(tmp_path: Path) -> None:
    text = MINIMAL.replace('received_at = "时间"\n', "") + '\n[outcome]\nresponded_at = "答复时间"\n'
    path = write(tmp_path, "m.toml", text)
    with pytest.raises(MappingError, match=r"\[outcome\] needs fields.received_at"):
        load_mapping(path)


def test_load_mapping_reports_toml_syntax_with_its_place(tmp_path: Path) -> None:
    path = write(tmp_path, "m.toml", "[fields\n")
    with pytest.raises(MappingError, match=r"not valid TOML: .*line 1"):
        load_mapping(path)


def test_read_rows_lists_the_headers_when_a_mapped_column_is_missing(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, "m.toml", MINIMAL.replace('"标题"', '"留言标题"')))
    data = write(tmp_path, "data.csv", "编号,时间,标题,内容,用户\nA-1,2024-03-01 09:30:00,t,d,u\n")
    with pytest.raises(SourceFileError) as caught:
        list(read_rows(data, mapping))
    assert caught.value.message == (
        "data.csv: fields.title: no column '留言标题'; the file's headers are: 编号, 时间, 标题, 内容, 用户"
    )


def test_read_rows_reads_missing_cells_of_a_short_row_as_empty(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, "m.toml", MINIMAL))
    data = write(tmp_path, "data.csv", "编号,时间,标题,内容,用户\nA-2,2024-03-01 09:30:00,t\nA-3,,t,d,u\n")
    assert [(row.row_no, row.error) for row in read_rows(data, mapping)] == [
        (
            2,
            "enterprise_name: empty cell in column '用户'; contact_name: empty cell in column '用户'; "
            "description: empty cell in column '内容'",
        ),
        (3, "received_at: empty cell in column '时间'"),
    ]


def test_read_rows_asks_for_the_encoding_when_the_file_is_not_utf8(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, "m.toml", MINIMAL))
    data = tmp_path / "gbk.csv"
    data.write_bytes("编号,时间,标题,内容,用户\nA-1,2024-03-01 09:30:00,标题,内容,用户\n".encode("gb18030"))
    with pytest.raises(SourceFileError, match=r"^gbk.csv: not valid utf-8-sig text; set source.encoding"):
        list(read_rows(data, mapping))
    gb_mapping = load_mapping(write(tmp_path, "gb.toml", '[source]\nencoding = "gb18030"\n' + MINIMAL))
    [row] = read_rows(data, gb_mapping)
    assert row.submission is not None and row.submission.title == "标题"


def test_read_rows_refuses_a_missing_sheet_listing_the_sheets(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, "m.toml", '[source]\nsheet = "Sheet9"\n' + MINIMAL))
    with pytest.raises(SourceFileError, match=r"source.sheet: no sheet 'Sheet9'; its sheets are: 投诉$"):
        list(read_rows(sample_xlsx(tmp_path), mapping))


def test_read_rows_reads_xlsx_numbers_and_dates_in_text_columns_as_text(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["编号", "时间", "标题", "内容", "用户"])
    sheet.append([2549, datetime(2019, 4, 25, 9, 32, 9), datetime(2019, 4, 1), "内容", 100.0])
    path = tmp_path / "numbers.xlsx"
    book.save(path)
    [row] = read_rows(path, load_mapping(write(tmp_path, "m.toml", MINIMAL)))
    assert row.submission is not None
    assert (row.submission.channel_ref, row.submission.contact_name) == ("2549", "100")
    assert row.submission.title == "2019-04-01 00:00:00"  # a date cell in a text column reads as text
    assert row.submission.received_at == datetime(2019, 4, 25, 1, 32, 9, tzinfo=UTC)


# --- times ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone_name", ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
)
def test_time_reader_agrees_with_zoneinfo_across_daylight_saving(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    read = _TimeReader("%Y-%m-%d %H:%M:%S", zone)
    start = datetime(2023, 1, 1)
    for step in range(0, 365 * 24 * 4):  # every 15 minutes of 2023, transition nights included
        local = start + timedelta(minutes=15 * step)
        expected = local.replace(tzinfo=zone).astimezone(UTC)
        assert read(local.strftime("%Y-%m-%d %H:%M:%S")) == expected, local


def test_time_reader_refuses_what_strptime_refuses() -> None:
    read = _TimeReader("%Y-%m-%d %H:%M:%S", ZoneInfo("Asia/Shanghai"))
    for text in ("2019-02-30 10:00:00", "2019-04-25T09:32:09", "2019-04-25 09:32", "2019-04-25 09:32:09 "):
        with pytest.raises(ValueError):
            read(text)
    # What strptime accepts beyond the fast path (no zero padding, full-width digits) still reads.
    assert read("2019-4-5 9:02:03") == datetime(2019, 4, 5, 1, 2, 3, tzinfo=UTC)
    assert read("２０１９-04-25 09:32:09") == datetime(2019, 4, 25, 1, 32, 9, tzinfo=UTC)


# --- the shipped mappings on the real data ----------------------------------------------------------


@needs(FJ4)
def test_read_rows_reads_all_of_fj4_with_outcomes() -> None:
    rows = list(read_rows(FJ4, load_mapping(REPO / "mappings" / "fj4.toml")))
    assert len(rows) == 2816
    assert [row for row in rows if not row.ok] == []
    # Four official replies exceed the 4,000-character audit note and are cut.
    assert [row.row_no for row in rows if row.truncated] == [1921, 2038, 2040, 2086]
    assert Counter(name for row in rows for name in row.truncated) == {"response_note": 4}

    first = rows[0]
    assert first.row_no == 2
    assert first.submission is not None and first.outcome is not None
    assert first.submission.model_dump(exclude={"description"}) == {
        "channel": Channel.APP,
        "channel_ref": "2549",
        "received_at": datetime(2019, 4, 25, 1, 32, 9, tzinfo=UTC),  # 2019-04-25 09:32:09 in Shanghai
        "enterprise_name": "A00045581",
        "credit_code": None,
        "contact_name": "A00045581",
        "contact_phone": None,
        "title": "A2区景蓉华苑物业管理有问题",
        "category": None,
        "inspection_ref": None,
    }
    assert first.submission.description.startswith("2019年4月以来，位于A市A2区桂花坪街道")
    assert len(first.submission.description) == 342
    assert first.outcome.responded_at == datetime(2019, 5, 10, 6, 56, 53, tzinfo=UTC)
    assert first.outcome.resolved_at == first.outcome.responded_at
    assert first.outcome.response_note is not None
    assert first.outcome.response_note.startswith("现将网友在平台《问政西地省》栏目")


@needs(FJ3)
def test_read_rows_reads_all_of_fj3_truncating_five_long_messages() -> None:
    rows = list(read_rows(FJ3, load_mapping(REPO / "mappings" / "fj3.toml")))
    assert len(rows) == 4326
    assert [row for row in rows if not row.ok] == []
    assert [row.row_no for row in rows if row.truncated] == [1364, 1689, 1980, 1984, 3545]
    assert all(row.outcome == Outcome() for row in rows)
