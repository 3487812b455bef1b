"""Reports as files: CSV that Excel opens with its Vietnamese intact, JSON lines."""
import csv
import io
import json

from motcua_contracts.reports import OnTimeReportSchema

from gateway.exports import csv_response, named_report, ndjson_response, on_time_csv

REPORT = OnTimeReportSchema().dump(OnTimeReportSchema().load({
    "from": "2026-01-01", "to": "2026-03-31", "group_by": "procedure",
    "rows": [
        {"key": "1.001193", "name": "Đăng ký khai sinh", "received": 10, "completed_on_time": 7, "completed_late": 1, "unfinished_late": 1,
         "unfinished_on_time": 1, "on_time_rate": 0.7778, "online_share": 0.6,
         "by_channel": {"online": 6, "counter": 4}, "by_state": {"completed": 8, "in_progress": 2}},
        {"key": "=HYPERLINK(\"http://x\")", "received": 0, "completed_on_time": 0, "completed_late": 0,
         "unfinished_late": 0, "unfinished_on_time": 0, "on_time_rate": None, "online_share": None,
         "by_channel": {}, "by_state": {}},
    ],
}))


def test_csv_is_utf8_with_bom_a_vietnamese_header_row_and_a_row_per_group():
    body = on_time_csv(REPORT)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:5] == ["Thủ tục", "Mã", "Tiếp nhận", "Hoàn thành đúng hạn", "Hoàn thành quá hạn"]
    assert "Kênh: Trực tuyến" in header and "Trạng thái: Đang giải quyết" in header
    assert len(rows) == 3 and all(len(row) == len(header) for row in rows)
    first = dict(zip(header, rows[1]))
    assert (first["Thủ tục"], first["Mã"]) == ("Đăng ký khai sinh", "1.001193")
    assert first["Tiếp nhận"] == "10" and first["Tỷ lệ đúng hạn (%)"] == "77,78"  # percent, decimal comma
    assert first["Tỷ lệ nộp trực tuyến (%)"] == "60"
    assert (first["Kênh: Trực tuyến"], first["Kênh: Trực tiếp tại Bộ phận Một cửa"],
            first["Kênh: Qua dịch vụ bưu chính công ích"]) == ("6", "4", "0")
    assert first["Trạng thái: Đã có kết quả"] == "8" and first["Trạng thái: Đã trả kết quả"] == "0"
    empty = dict(zip(header, rows[2]))
    assert empty["Tỷ lệ đúng hạn (%)"] == "" and empty["Thủ tục"].startswith("'=")  # no formula in Excel
    assert empty["Mã"].startswith("'=")
    assert body.count(b"\r\n") == 3


def test_file_responses_are_attachments_not_kept_by_caches():
    response = csv_response(on_time_csv(REPORT), "on-time.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="on-time.csv"'
    assert response.headers["Cache-Control"] == "no-store"


def test_ndjson_is_one_json_object_per_line():
    records = [{"MaHoSo": "000.00.00.H49-261125-0007", "TenTTHC": "Đăng ký khai sinh"}, {"MaHoSo": "b"}]
    response = ndjson_response(records, "export.ndjson")
    assert response.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    body = response.get_data()
    assert "Đăng ký khai sinh".encode() in body and body.endswith(b"\n")
    assert [json.loads(line) for line in body.decode().splitlines()] == records
    assert ndjson_response([], "empty.ndjson").get_data() == b""


def test_rows_are_named_agencies_from_the_catalogue_procedures_as_status_names_them_and_the_city():
    by_agency = {**REPORT, "group_by": "agency", "rows": [{**REPORT["rows"][0], "key": "000.00.51.H24", "name": None},
                                                         {**REPORT["rows"][1], "key": "000.00.99.H24", "name": None}]}
    named = named_report(by_agency, {"000.00.51.H24": "Ủy ban nhân dân xã Vĩnh Bảo"})
    assert [row["name"] for row in named["rows"]] == ["Ủy ban nhân dân xã Vĩnh Bảo", "000.00.99.H24"]
    assert [row["name"] for row in named_report(REPORT, {})["rows"]] == ["Đăng ký khai sinh", REPORT["rows"][1]["key"]]
    city = {**REPORT, "group_by": "city", "rows": [{**REPORT["rows"][0], "key": "city", "name": None}]}
    assert named_report(city, {})["rows"][0]["name"] == "Toàn thành phố"
    assert list(csv.reader(io.StringIO(on_time_csv(named_report(city, {})).decode("utf-8-sig"))))[1][:2] == [
        "Toàn thành phố", ""]
