"""Codes shared by the data, the queries and the i18n catalogue.

Categories, sectors, channels and statuses are stored as these plain-English codes;
their Vietnamese and English labels live only in `dashboard.i18n`. Agency, procedure
and place names are proper names: they are data and are stored as written locally.
"""

from __future__ import annotations

# Citizen field-report ("phản ánh hiện trường") categories.
FEEDBACK_CATEGORIES = (
    "waste_environment",  # illegal dumping, landfill, uncollected rubbish
    "roads_traffic",  # potholes, damaged roads, broken signs
    "street_lighting",  # broken or unlit street lights
    "water_drainage",  # flooding, blocked drains, water supply
    "urban_order",  # encroachment on pavements, illegal construction
    "trees_parks",  # fallen or dangerous trees
    "noise",  # karaoke, construction noise
    "food_safety",
    "other",
)

FEEDBACK_CHANNELS = ("hue_s_app", "hotline_1022", "web_portal", "zalo", "walk_in")
FEEDBACK_STATUSES = ("new", "in_progress", "resolved", "rejected")

DOSSIER_SECTORS = (
    "civil_status",  # hộ tịch: birth, marriage registration
    "land",  # đất đai
    "construction",  # xây dựng: building permits
    "business",  # đăng ký kinh doanh
    "justice",  # tư pháp: certified copies
    "labour_social",  # lao động, thương binh, xã hội
    "transport",  # giao thông vận tải
    "health",
    "education",
    "other",  # imported procedures that fit none of the above
)
DOSSIER_CHANNELS = ("online", "counter", "postal")
DOSSIER_STATUSES = ("received", "in_progress", "completed", "returned", "withdrawn")

AREA_KINDS = ("ward", "commune")
