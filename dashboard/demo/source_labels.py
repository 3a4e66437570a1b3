"""Demo values of feedback's `source_category`: the type as a Hue-S style source writes it, beside our category.

No random draw: each report takes one of its category's labels by its id, so adding them left every other value
of the demo as it was for a seed (and the chunks of a large build agree with a single pass). Every label is put
back into its own category by the importer's keywords (tests/test_source_category.py checks it).
"""

from __future__ import annotations

import numpy as np

SOURCE_LABELS = {
    "waste_environment": ("Rác thải sinh hoạt", "Đổ rác, xà bần không đúng nơi quy định", "Ô nhiễm môi trường"),
    "roads_traffic": ("Ổ gà, hư hỏng mặt đường", "Biển báo giao thông hư hỏng", "Đường sá xuống cấp"),
    "street_lighting": ("Đèn chiếu sáng công cộng không sáng", "Hư hỏng đèn đường"),
    "water_drainage": ("Ngập úng cục bộ", "Tắc cống thoát nước", "Sự cố cấp nước"),
    "urban_order": ("Lấn chiếm không gian công cộng", "Xây dựng trái phép"),
    "trees_parks": ("Cây xanh gãy đổ, nguy hiểm", "Cắt tỉa cây xanh"),
    "noise": ("Tiếng ồn karaoke", "Tiếng ồn công trình xây dựng"),
    "food_safety": ("Vệ sinh an toàn thực phẩm",),
    "other": ("Góp ý, kiến nghị khác",),
}


def source_categories(categories: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The source's label of each report: one of its category's labels, chosen by the report's id."""
    out = np.empty(len(categories), dtype=object)
    for category, labels in SOURCE_LABELS.items():
        chosen = categories == category
        out[chosen] = np.asarray(labels, dtype=object)[np.asarray(ids)[chosen] % len(labels)]
    return out
