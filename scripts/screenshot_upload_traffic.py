"""Screenshots of a traffic dry run on the "Nhập dữ liệu" page in headless Chromium, on a throwaway demo database.

    .venv/bin/python scripts/screenshot_upload_traffic.py [--lang vi|en]

Logs in, uploads a long counts file with a sensor list through the real file inputs and makes a dry run, then a
wide table (one column per sensor) with the same list. Writes artifacts/screenshots/data_import_traffic_*.png and
prints what it saw (error boxes, exceptions, the count tiles, the captions of the result).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from dashboard.i18n import t
from dashboard.periods import local_now
from dashboard.testing import browser

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshot_upload import OUT_DIR, problems, small_demo, tiles  # noqa: E402


def write_files(folder: Path) -> tuple[Path, Path, Path]:
    day = local_now().date() - timedelta(days=2)
    long = folder / "dem_xe.csv"
    long.write_text(
        "sensor_id,timestamp,count,speed\n"
        + "".join(
            f"{sensor},{day} {hour:02d}:{minute:02d},{100 + hour * 3 + minute},{30 + minute / 10}\n"
            for sensor in ("CB-01", "CB-02")
            for hour in range(6, 9)
            for minute in (0, 15, 30, 45)
        )
        + f"CB-99,{day} 07:00,12,30\nCB-01,{day} 09:00,nhiều,30\n",
        encoding="utf-8",
    )
    wide = folder / "dem_xe_ngang.csv"
    wide.write_text(
        "Thời gian,CB-01,CB-02\n"
        + "".join(f"{day:%d/%m/%Y} {hour:02d}:00,{200 + hour},{150 + hour}\n" for hour in range(6, 12)),
        encoding="utf-8",
    )
    sensors = folder / "cam_bien.csv"
    sensors.write_text(
        "Mã cảm biến,Tên,Đường,Vĩ độ,Kinh độ\nCB-01,Cầu Trường Tiền,Lê Lợi,16.4671,107.5912\n"
        "CB-02,Ngã tư Hùng Vương,Hùng Vương,16.4630,107.5940\n",
        encoding="utf-8",
    )
    return long, wide, sensors


def dry_run(page, lang: str) -> None:
    page.get_by_role("button", name=t("ingest.dry_run", lang)).click()
    page.get_by_text(t("ingest.result.dry_run", lang)).wait_for(timeout=60_000)
    browser.wait_for_app(page)


def captions(page) -> list[str]:
    return [c.inner_text().strip() for c in page.query_selector_all('[data-testid="stCaptionContainer"]')]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=["vi", "en"], default="vi")
    lang = parser.parse_args().lang
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ioc-upload-shot-") as folder:
        url = small_demo(Path(folder))
        long, wide, sensors = write_files(Path(folder))
        env: dict[str, str] = {}  # running_app signs the pages in as its test admin (issue 19)
        seen: list[str] = []
        with (
            browser.running_app(url, extra_env=env, log_path=OUT_DIR / "streamlit_upload.log") as base,
            browser.browser() as chromium,
        ):
            page = browser.new_page(chromium, viewport={"width": 1600, "height": 1000})
            page.goto(f"{base}/?lang={lang}")
            browser.wait_for_app(page)
            page.get_by_test_id("stSidebarNav").get_by_text(t("page.data_import", lang)).click()
            browser.wait_for_app(page)
            inputs = '[data-testid="stFileUploader"] input[type="file"]'
            page.locator(inputs).first.set_input_files(str(long))
            page.wait_for_selector('[data-testid="stDataFrame"]', timeout=60_000)
            browser.wait_for_app(page)
            page.get_by_text(t("ingest.kind.traffic", lang), exact=True).click()
            browser.wait_for_app(page)
            page.locator(inputs).nth(1).set_input_files(str(sensors))
            page.get_by_text(t("ingest.traffic.sensors_found", lang, file=sensors.name, mapping="")[:12]).wait_for()
            browser.wait_for_app(page)
            rate = page.get_by_label(t("ingest.max_reject", lang), exact=True)
            rate.fill("20")
            rate.press("Enter")
            browser.wait_for_app(page)
            dry_run(page, lang)
            browser.full_page_screenshot(page, OUT_DIR / "data_import_traffic_long.png")
            seen.append(f"long: tiles {tiles(page)}; captions {captions(page)[-3:]}; problems {problems(page)}")

            page.locator(inputs).first.set_input_files(str(wide))
            page.get_by_text(wide.name).first.wait_for(timeout=60_000)
            browser.wait_for_app(page)
            page.get_by_text(t("ingest.traffic.wide", lang), exact=True).click()
            page.get_by_text("CB-01, CB-02").wait_for(timeout=60_000)
            browser.wait_for_app(page)
            page.get_by_text(t("ingest.dayfirst", lang), exact=True).click()
            browser.wait_for_app(page)
            dry_run(page, lang)
            browser.full_page_screenshot(page, OUT_DIR / "data_import_traffic_wide.png")
            seen.append(f"wide: tiles {tiles(page)}; captions {captions(page)[-3:]}; problems {problems(page)}")
    for line in seen:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
