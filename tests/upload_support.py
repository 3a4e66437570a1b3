"""Shared by the upload-page tests: the frozen clock, the columns detected in the messy feedback file, and a count
of the feedback rows of one source."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from dashboard.db import schema
from dashboard.db.engine import fetch_one

NOW = datetime(2026, 11, 20, 14, 37)
DETECTED = {
    "source_id": "Mã phản ánh",
    "received_at": "Ngày tiếp nhận",
    "category": "Lĩnh vực",
    "status": "Trạng thái",
    "resolved_at": "Ngày hoàn thành",
    "agency": "Đơn vị xử lý",
    "area": "Phường/Xã",
}


def feedback_count(engine, source: str = "phan_anh") -> int:
    return fetch_one(
        engine,
        select(func.count().label("rows")).select_from(schema.feedback).where(schema.feedback.c.source == source),
    )["rows"]
