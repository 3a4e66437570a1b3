"""Catalogue of the data-quality page."""

VI: dict[str, str] = {
    "page.quality": "Chất lượng dữ liệu",
}

EN: dict[str, str] = {
    "page.quality": "Data quality",
}
