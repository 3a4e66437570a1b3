"""Messy import files written by the tests: a Windows-1258 CSV, BOM + semicolons, Excel, Open311 JSON.

Each builder returns the path it wrote. The rows and their expected fate are listed next to them, so the
tests assert exact counts.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pandas as pd

_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """Text as Windows-1258 writes it: base letters (â, ơ, ư, ...) followed by separate tone marks."""
    out = []
    for character in text:
        decomposed = unicodedata.normalize("NFD", character)
        tones = "".join(c for c in decomposed if c in _TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
        out.append(base + tones)
    return "".join(out).encode("cp1258")


# Vietnamese feedback export, Windows-1258, dd/mm/yyyy. Clock of the import: 2026-11-20 14:37.
FEEDBACK_VI_HEADER = "Mã phản ánh,Ngày tiếp nhận,Lĩnh vực,Phường/Xã,Trạng thái,Ngày hoàn thành,Đơn vị xử lý"
FEEDBACK_VI_ROWS = [
    "PA-001,03/11/2026 08:15,Rác thải sinh hoạt,P. Phú Hội,Đã xử lý,04/11/2026 10:00,Phường Thuận Hóa",  # ok (old ward name)
    "PA-002,15/11/2026 21:40,Ổ gà mặt đường,Phường Vỹ Dạ,Đang xử lý,,Sở Xây dựng",  # ok
    "PA-003,16/11/2026,Đèn chiếu sáng hỏng,phu xuan,Mới,,",  # ok, date only
    "PA-004,17/11/2026 07:00,Tiếng ồn karaoke,Không rõ,Mới,,",  # ok, unknown area
    ",18/11/2026 07:00,Ngập úng,Phường An Cựu,Mới,,",  # missing id
    "PA-006,31/02/2026 07:00,Ngập úng,Phường An Cựu,Mới,,",  # unreadable date
    "PA-007,10/11/2026 09:00,Cây đổ,Phường An Cựu,Đã xử lý,09/11/2026 09:00,",  # resolved before received
    "PA-008,25/12/2026 09:00,Cây đổ,Phường An Cựu,Mới,,",  # future
    "PA-002,15/11/2026 21:40,Ổ gà mặt đường,Phường Vỹ Dạ,Đã xử lý,19/11/2026 16:00,Sở Xây dựng",  # duplicate: last kept
]
FEEDBACK_VI_EXPECTED = {"rows_read": 9, "inserted": 4, "rejected": 4, "duplicates": 1, "unknown_area": 1}


def feedback_cp1258(folder: Path) -> Path:
    path = folder / "phan_anh_2026-11-20.csv"
    path.write_bytes(to_cp1258("\r\n".join([FEEDBACK_VI_HEADER, *FEEDBACK_VI_ROWS]) + "\r\n"))
    return path


# Dossier export: UTF-8 with BOM, semicolons, Vietnamese headers, day-first dates with seconds.
DOSSIERS_HEADER = "Số hồ sơ;Tên thủ tục;Lĩnh vực;Ngày tiếp nhận;Hạn xử lý;Ngày hoàn thành;Hình thức nộp;Phường/Xã"
DOSSIERS_ROWS = [
    "HS-1;Đăng ký khai sinh;Hộ tịch;02/11/2026 08:00:00;05/11/2026 17:00:00;04/11/2026 09:30:00;Trực tuyến;Phường An Cựu",
    "HS-2;Cấp giấy phép xây dựng;Xây dựng;03/11/2026 09:00:00;20/11/2026 17:00:00;;Trực tiếp;Phường Kim Long",
    "HS-3;Chứng thực bản sao;;13/11/2026 10:00:00;13/11/2026 17:00:00;13/11/2026 11:00:00;Bưu chính;",
    "HS-4;Đăng ký kết hôn;Hộ tịch;;;;Trực tuyến;Phường An Cựu",
]
DOSSIERS_EXPECTED = {"rows_read": 4, "inserted": 3, "rejected": 1, "duplicates": 0, "unknown_area": 1}


def dossiers_bom_semicolon(folder: Path) -> Path:
    path = folder / "ho_so.csv"
    path.write_text("\n".join([DOSSIERS_HEADER, *DOSSIERS_ROWS]) + "\n", encoding="utf-8-sig")
    return path


def dossiers_excel(folder: Path) -> Path:
    """The same dossiers as an .xlsx workbook, with real date cells."""
    frame = pd.DataFrame([row.split(";") for row in DOSSIERS_ROWS], columns=DOSSIERS_HEADER.split(";"))
    for column in ("Ngày tiếp nhận", "Hạn xử lý", "Ngày hoàn thành"):
        frame[column] = pd.to_datetime(frame[column].replace("", None), format="%d/%m/%Y %H:%M:%S")
    frame = frame.replace("", None)
    path = folder / "ho_so.xlsx"
    frame.to_excel(path, index=False)
    return path


# Open311 GeoReport v2 requests (JSON list), with points inside Huế.
def open311_json(folder: Path) -> Path:
    requests = [
        {
            "service_request_id": "311-1",
            "status": "closed",
            "service_name": "Pothole",
            "requested_datetime": "2026-11-10T08:00:00+07:00",
            "updated_datetime": "2026-11-11T09:00:00+07:00",
            "lat": 16.4371,
            "long": 107.6039,
        },
        {
            "service_request_id": "311-2",
            "status": "open",
            "service_name": "Illegal dumping",
            "requested_datetime": "2026-11-12T01:30:00Z",
            "updated_datetime": "2026-11-12T02:00:00Z",
            "lat": 16.4778,
            "long": 107.6110,
        },
        {
            "service_request_id": "311-3",
            "status": "open",
            "service_name": "Graffiti",
            "requested_datetime": "2026-11-13T10:00:00+07:00",
            "lat": 40.7,
            "long": -74.0,
        },  # a point outside the city
    ]
    path = folder / "requests.json"
    path.write_text(json.dumps(requests), encoding="utf-8")
    return path
