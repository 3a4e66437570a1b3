"""What each import kind reads: the fields of our data model, the headers that name them, and value codes.

A file's header is matched to a field after `plain()` (lower case, no diacritics, "_" between words), so
"Ngày tiếp nhận", "ngay_tiep_nhan" and "NGAY TIEP NHAN" are the same header. For each field the synonyms are
tried in order and the first header present wins. Nothing here names one city's export: the lists are the
common vocabularies (Open311 GeoReport v2, US 311 portal exports, Vietnamese one-stop-shop and Hue-S exports).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from dashboard.domain import DOSSIER_SECTORS, FEEDBACK_CATEGORIES, FEEDBACK_CHANNELS

KINDS = ("feedback", "dossiers", "traffic", "areas")


def plain(text: object) -> str:
    """Lower-case ASCII words joined by "_": "Ngày tiếp nhận" -> "ngay_tiep_nhan", "\\ufeffX" -> "x"."""
    value = unicodedata.normalize("NFD", str(text).replace("đ", "d").replace("Đ", "D"))
    value = "".join(ch for ch in value if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "_", value).strip("_")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "text", "time", "number", "integer"
    required: bool = False
    synonyms: tuple[str, ...] = ()


def _f(name: str, kind: str, *synonyms: str, required: bool = False) -> Field:
    names = tuple(plain(s) for s in synonyms)  # the field's own name first, unless the list places it
    return Field(name, kind, required, names if name in names else (name, *names))


_AREA = _f(
    "area",
    "text",
    "phuong_xa",
    "phường/xã",
    "phuong",
    "xa",
    "dia_ban",
    "ma_phuong_xa",
    "area_code",
    "ward_code",
    "ward",
    "commune",
)
_LAT = _f("lat", "number", "latitude", "vi_do", "vĩ độ", "y_lat")
_LON = _f("lon", "number", "long", "lng", "longitude", "kinh_do", "kinh độ", "x_lon")
_AGENCY = _f(
    "agency",
    "text",
    "đơn vị xử lý",
    "don_vi_xu_ly",
    "co_quan_xu_ly",
    "cơ quan giải quyết",
    "agency_name",
    "responsible_agency",
    "agency",
    "department",
    "co_quan",
)

# The citizen's personal details, when a file carries them (issue 19): stored, and shown unmasked only to the roles
# of IOC_PII_ROLES. Open311 GeoReport v2 and 311 exports give first_name/last_name (joined into one name), phone,
# email and the address of the request; Vietnamese exports "Họ tên", "Số điện thoại", "Địa chỉ".
_CITIZEN = (
    _f(
        "citizen_name",
        "text",
        "họ tên",
        "họ và tên",
        "ho_ten_nguoi_phan_anh",
        "người phản ánh",
        "người nộp",
        "chủ hồ sơ",
        "full_name",
        "citizen_name",
        "reporter_name",
        "requester_name",
        "applicant_name",
        "contact_name",
    ),
    _f("citizen_first_name", "text", "first_name", "firstname", "given_name"),
    _f("citizen_last_name", "text", "last_name", "lastname", "surname", "family_name"),
    _f(
        "citizen_phone",
        "text",
        "số điện thoại",
        "điện thoại",
        "sđt",
        "phone",
        "phone_number",
        "telephone",
        "contact_phone",
        "citizen_phone",
    ),
    _f("citizen_email", "text", "email", "e_mail", "thư điện tử", "email_address", "contact_email", "citizen_email"),
    _f(
        "citizen_address",
        "text",
        "địa chỉ",
        "địa chỉ liên hệ",
        "address",
        "incident_address",
        "street_address",
        "citizen_address",
    ),
)

FIELDS: dict[str, tuple[Field, ...]] = {
    "feedback": (
        _f(
            "source_id",
            "text",
            "service_request_id",
            "unique_key",
            "case_enquiry_id",
            "request_id",
            "ticket_id",
            "mã phản ánh",
            "ma_phan_anh",
            "so_phan_anh",
            "case_id",
            "id",
            required=True,
        ),
        _f(
            "received_at",
            "time",
            "requested_datetime",
            "created_date",
            "open_dt",
            "created_at",
            "opened",
            "date_received",
            "ngày tiếp nhận",
            "thời gian tiếp nhận",
            "ngày phản ánh",
            "thoi_gian_phan_anh",
            required=True,
        ),
        _f(
            "category",
            "text",
            "service_name",
            "complaint_type",
            "lĩnh vực",
            "loại phản ánh",
            "chuyên mục",
            "type",
            "reason",
            "subject",
        ),
        _f("status", "text", "case_status", "trạng thái", "tình trạng"),
        _f(
            "resolved_at",
            "time",
            "closed_date",
            "closed_dt",
            "closed_at",
            "ngày hoàn thành",
            "ngày xử lý xong",
            "thời gian hoàn thành",
            "date_closed",
        ),
        _f("updated_at", "time", "updated_datetime", "last_updated", "ngày cập nhật"),
        _f("due_at", "time", "expected_datetime", "due_date", "target_dt", "hạn xử lý", "han_giai_quyet"),
        _f("first_response_at", "time", "acknowledged_at", "ngày phản hồi", "thời gian phản hồi"),
        _AGENCY,
        _f("channel", "text", "kênh tiếp nhận", "kenh", "open_data_channel_type", "intake_channel", "source"),
        _AREA,
        _LAT,
        _LON,
        _f("satisfaction", "integer", "mức độ hài lòng", "danh_gia", "rating"),
        *_CITIZEN,
    ),
    "dossiers": (
        _f(
            "source_id",
            "text",
            "mã hồ sơ",
            "số hồ sơ",
            "so_bien_nhan",
            "dossier_id",
            "application_id",
            "permit_number",
            "fileno",
            "file_no",
            "file_number",
            "case_id",
            "objectid",
            "id",
            required=True,
        ),
        _f(
            "received_at",
            "time",
            "ngày tiếp nhận",
            "ngày nhận",
            "thời gian tiếp nhận",
            "date_received",
            "received_date",
            "application_date",
            "indate",
            "applied_date",
            "created_date",
            required=True,
        ),
        _f("due_at", "time", "hạn xử lý", "hạn giải quyết", "ngày hẹn trả", "due_date", "target_date"),
        _f(
            "completed_at",
            "time",
            "ngày hoàn thành",
            "ngày trả kết quả",
            "ngày có kết quả",
            "completed_date",
            "completion_date",
            "issuedate",
            "issue_date",
            "issued_date",
            "closed_date",
        ),
        _f(
            "procedure_name",
            "text",
            "tên thủ tục",
            "thủ tục",
            "thu_tuc_hanh_chinh",
            "procedure",
            "permit_type",
            "foldertype",
            "folder_type",
            "application_type",
            "work_type",
        ),
        _f("procedure_code", "text", "mã thủ tục", "ma_tthc"),
        _f("sector", "text", "lĩnh vực", "linh_vuc", "nhóm thủ tục"),
        _f("status", "text", "trạng thái", "tình trạng", "folderstatusdesc", "folder_status", "case_status"),
        _f("channel", "text", "kênh nộp", "hình thức nộp", "hinh_thuc", "submission_channel", "intake_channel"),
        _AGENCY,
        _AREA,
        _LAT,  # only to place the dossier in a ward when it has no area (dossiers keep no coordinates)
        _LON,
        # Optional: empty = unknown. A value that is not a whole number ≥ 0 (days: a number ≥ 0) or yes/no rejects
        # the row (rows.prepare_dossiers).
        _f(
            "supplement_requests",
            "integer",
            "số lần yêu cầu bổ sung",
            "số lần bổ sung",
            "yêu cầu bổ sung",
            "so_lan_bo_sung_ho_so",
            "supplement_count",
            "additional_information_requests",
        ),
        _f(
            "supplement_days",
            "number",
            "số ngày chờ bổ sung",
            "thời gian chờ bổ sung",
            "ngày chờ bổ sung",
            "so_ngay_bo_sung",
            "days_waiting_for_applicant",
            "supplement_waiting_days",
        ),
        _f("complaint", "text", "khiếu nại", "có khiếu nại", "phản ánh kiến nghị", "has_complaint", "complained"),
        *_CITIZEN,
    ),
    "traffic": (
        _f(
            "sensor_id",
            "text",
            "sensorid",
            "sensor",
            "mã cảm biến",
            "ma_thiet_bi",
            "station_id",
            "detector_id",
            "device_id",
            required=True,
        ),
        _f(
            "observed_at",
            "time",
            "date_time",
            "datetime",
            "timestamp",
            "time",
            "thời gian",
            "thoi_diem",
            "date",
            "ngày",
            required=True,
        ),
        _f("hour", "integer", "giờ", "hour_of_day"),
        _f(
            "vehicle_count",
            "integer",
            "count",
            "volume",
            "lưu lượng",
            "so_xe",
            "số lượng",
            "pedestriancount",
            "vehicles",
            "total_count",
            required=True,
        ),
        _f(
            "mean_speed_kmh",
            "number",
            "speed",
            "mean_speed",
            "avg_speed",
            "average_speed",
            "tốc độ",
            "toc_do_trung_binh",
        ),
        _f("period_minutes", "integer", "interval_minutes", "chu_ky_phut"),
        # The name of a sensor the database does not know yet, registered from the file (ingest.sensors)
        _f(
            "sensor_name",
            "text",
            "sensorname",
            "sensor_name",
            "tên cảm biến",
            "ten_cam_bien",
            "tên điểm đo",
            "station_name",
            "detector_name",
            "device_name",
            "site_name",
        ),
    ),
    # The sensor list that goes with a traffic file (--sensors FILE).
    "sensors": (
        _f(
            "sensor_id",
            "text",
            "sensorid",
            "sensor",
            "mã cảm biến",
            "station_id",
            "detector_id",
            "device_id",
            "id",
            "ma",
            required=True,
        ),
        _f("name", "text", "sensor_description", "description", "tên", "ten_cam_bien", "sensor_name", "location"),
        _f("road", "text", "đường", "tuyen_duong", "street", "road_name"),
        _LAT,
        _LON,
        _AREA,
    ),
}


def field_names(kind: str) -> tuple[str, ...]:
    return tuple(f.name for f in FIELDS[kind])


def field(kind: str, name: str) -> Field:
    return next(f for f in FIELDS[kind] if f.name == name)


def detect_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    """field -> header for every field whose synonyms name one of `headers` (each header used once)."""
    by_plain: dict[str, str] = {}
    for header in headers:
        by_plain.setdefault(plain(header), header)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for item in FIELDS[kind]:
        for synonym in item.synonyms:
            header = by_plain.get(synonym)
            if header is not None and header not in used:
                mapping[item.name] = header
                used.add(header)
                break
    return mapping


# ------------------------------------------------------------------------------------------------ value codes
# Keywords (plain form) that put a source's own value into one of our codes; the first code with a match wins.
# A --mapping file's `values:` section overrides these for exact values.
FEEDBACK_STATUS_WORDS = {
    "rejected": ("reject", "invalid", "duplicate", "cancel", "tu_choi", "khong_hop_le", "trung_lap", "huy"),
    "resolved": ("closed", "resolved", "complete", "done", "fixed", "da_xu_ly", "hoan_thanh", "da_giai_quyet", "xong"),
    "in_progress": (
        "progress",
        "assigned",
        "started",
        "pending",
        "processing",
        "acknowledg",
        "email_sent",
        "dang_xu_ly",
        "da_tiep_nhan",
        "chuyen_xu_ly",
    ),
    "new": ("open", "new", "submitted", "received", "moi", "chua_xu_ly", "cho_tiep_nhan"),
}
DOSSIER_STATUS_WORDS = {
    "withdrawn": ("withdraw", "cancel", "rut", "huy"),
    "returned": ("return", "reject", "refus", "tra_lai", "bo_sung", "tu_choi"),
    "completed": ("complete", "final", "closed", "done", "approved", "issued", "da_tra", "hoan_thanh", "co_ket_qua"),
    "in_progress": ("progress", "review", "pending", "processing", "dang_xu_ly", "dang_giai_quyet"),
    "received": ("received", "new", "submitted", "open", "moi", "tiep_nhan"),
}
FEEDBACK_CATEGORY_WORDS = {
    "food_safety": ("food", "restaurant", "thuc_pham", "ve_sinh_an_toan"),
    "noise": ("noise", "karaoke", "loud", "tieng_on", "on_ao"),
    "street_lighting": ("light", "lamp", "den", "chieu_sang"),
    "trees_parks": ("tree", "park", "cay", "cong_vien", "vuon_hoa"),
    "water_drainage": (
        "water",
        "sewer",
        "drain",
        "flood",
        "hydrant",
        "leak",
        "nuoc",
        "thoat_nuoc",
        "ngap",
        "cong_ranh",
    ),
    "waste_environment": (
        "dump",
        "garbage",
        "trash",
        "rubbish",
        "waste",
        "litter",
        "sanitation",
        "recycl",
        "dirty",
        "rodent",
        "rat",
        "rac",
        "moi_truong",
        "o_nhiem",
        "bai_rac",
    ),
    "roads_traffic": (
        "road",
        "street",
        "pothole",
        "sidewalk",
        "traffic",
        "sign",
        "parking",
        "vehicle",
        "pavement",
        "duong",
        "giao_thong",
        "o_ga",
        "via_he",
        "bien_bao",
    ),
    "urban_order": (
        "encroach",
        "illegal",
        "building",
        "construction",
        "graffiti",
        "vendor",
        "homeless",
        "lan_chiem",
        "trat_tu",
        "xay_dung",
        "quang_cao",
    ),
}
DOSSIER_SECTOR_WORDS = {
    "civil_status": ("birth", "marriage", "death", "civil", "ho_tich", "khai_sinh", "ket_hon", "khai_tu"),
    "land": ("land", "dat_dai", "quyen_su_dung_dat", "so_do", "survey"),
    "construction": ("build", "construct", "plumb", "demoli", "permit", "renovat", "dwelling", "xay_dung", "sign"),
    "business": ("business", "licen", "kinh_doanh", "doanh_nghiep", "company"),
    "justice": ("certif", "notar", "copy", "tu_phap", "chung_thuc", "ly_lich"),
    "labour_social": ("labour", "labor", "social", "pension", "lao_dong", "xa_hoi", "bao_tro", "nguoi_co_cong"),
    "transport": ("transport", "driv", "vehicle", "giao_thong", "lai_xe", "dang_kiem"),
    "health": ("health", "medical", "pharma", "y_te", "duoc"),
    "education": ("school", "education", "giao_duc", "dao_tao", "van_bang"),
}
FEEDBACK_CHANNEL_WORDS = {
    "hue_s_app": ("hue_s", "app", "mobile", "citizens_connect"),
    "hotline_1022": ("hotline", "1022", "phone", "call", "dien_thoai", "tong_dai"),
    "zalo": ("zalo",),
    "web_portal": ("web", "online", "portal", "email", "self_service", "cong_thong_tin", "internet"),
    "walk_in": ("walk", "counter", "in_person", "truc_tiep", "tai_quay"),
}
# Yes/no values of the dossiers' `complaint` column (plain form); anything else non-empty rejects the row.
YES_WORDS = ("1", "true", "yes", "y", "x", "co", "co_khieu_nai", "t")
NO_WORDS = ("0", "false", "no", "n", "khong", "khong_co", "f")
DOSSIER_CHANNEL_WORDS = {
    "online": ("online", "truc_tuyen", "internet", "web", "dvc", "portal", "electronic"),
    "postal": ("post", "mail", "buu_chinh", "buu_dien"),
    "counter": ("counter", "truc_tiep", "tai_quay", "in_person", "walk"),
}

assert set(FEEDBACK_CATEGORY_WORDS) <= set(FEEDBACK_CATEGORIES)
assert set(DOSSIER_SECTOR_WORDS) <= set(DOSSIER_SECTORS)
assert set(FEEDBACK_CHANNEL_WORDS) <= set(FEEDBACK_CHANNELS)


def classify(value: object, words: dict[str, tuple[str, ...]], codes: tuple[str, ...] = ()) -> str | None:
    """Our code for a source value: itself when it already is one of `codes`, else the first keyword match."""
    text = plain(value) if value is not None else ""
    if not text:
        return None
    if text in codes or text in words:
        return text
    padded = f"_{text}_"
    for code, keywords in words.items():
        for keyword in keywords:  # short keywords must be whole words ("rat" is not in "separate")
            if (f"_{keyword}_" in padded) if len(keyword) <= 3 else (keyword in text):
                return code
    return None
