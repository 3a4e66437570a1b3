"""Obviously fake personal details for a share of the demo's reports and dossiers, so that the masking of citizens'
details (dashboard/access/pii.py) is visible in the demo.

Every value is chosen from the record's id alone (a multiplicative hash, no random draw), so the seeded demo data
stay exactly as they were and the same id always gets the same person. Names come from short lists of common
Vietnamese family, middle and given names; e-mails are at example.com (reserved for documentation, RFC 2606);
phone numbers start with "00", Vietnam's international call prefix, so no subscriber in Vietnam can have one; the
addresses are "<number> <street>" on Huế streets.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SHARE_PERCENT = 30  # records with details: about one in three (many citizens report without leaving contacts)

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc")
GIVEN = (
    "An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Hoa", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phương", "Quân", "Sơn",
    "Thảo", "Trang", "Tuấn", "Vy", "Yến",
)  # fmt: skip
STREETS = (
    "Lê Lợi", "Trần Hưng Đạo", "Hùng Vương", "Nguyễn Huệ", "Hà Nội", "Lê Duẩn", "Điện Biên Phủ", "Phan Đình Phùng",
    "Nguyễn Trãi", "Đống Đa", "Bà Triệu", "Nguyễn Sinh Cung", "Chi Lăng", "Mai Thúc Loan", "Đinh Tiên Hoàng",
)  # fmt: skip
_ASCII = str.maketrans("Đđàáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹ",
                       "Ddaaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyy")  # fmt: skip


def _plain(word: str) -> str:
    return word.translate(_ASCII).lower()


def _pick(words: tuple[str, ...], index: np.ndarray) -> pa.Array:
    return pa.array(words).take(pa.array(index))


def _digits(values: np.ndarray, width: int) -> pa.Array:
    text = pc.cast(pa.array(values), pa.string())
    return pc.utf8_lpad(text, width, "0") if width else text


def _join(separator: str, *parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, separator)


def citizen_details(ids: np.ndarray) -> dict[str, np.ndarray]:
    """citizen_name, citizen_phone, citizen_email, citizen_address for the records `ids` (None for most)."""
    ids = np.asarray(ids, dtype=np.int64)
    h = (ids * 2654435761) % (1 << 32)  # Knuth's multiplicative hash: spread neighbouring ids
    has = (h % 100) < SHARE_PERCENT
    rows, h = np.flatnonzero(has), h[has]
    fi, mi, gi = h // 100 % len(FAMILY), h // 1_400 % len(MIDDLE), h // 11_200 % len(GIVEN)
    plain_family, plain_given = tuple(map(_plain, FAMILY)), tuple(map(_plain, GIVEN))
    values = {
        "citizen_name": _join(" ", _pick(FAMILY, fi), _pick(MIDDLE, mi), _pick(GIVEN, gi)),
        # 9 digits starting "00", Vietnam's international call prefix: never a subscriber's number
        "citizen_phone": _join("", "00", _digits(h % 10_000_000, 7)),
        "citizen_email": _join(
            "", _pick(plain_given, gi), ".", _pick(plain_family, fi), _digits(ids[has] % 100, 0), "@example.com"
        ),
        "citizen_address": _join(" ", _digits(h // 7 % 199 + 1, 0), _pick(STREETS, h // 224_000 % len(STREETS))),
    }
    out: dict[str, np.ndarray] = {}
    for name, joined in values.items():
        column = np.full(len(ids), None, dtype=object)
        column[rows] = joined.to_numpy(zero_copy_only=False)
        out[name] = column
    return out
