"""Briefing → HTML (Jinja2 templates) → PDF (WeasyPrint), with the system's Noto Sans embedded.

`render_briefing(engine, week, area, lang)` is the one entry point: the `brief` command and the
"Báo cáo tuần" page both call it, so the file a leader downloads is the file cron writes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2
import markupsafe
from sqlalchemy.engine import Engine

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.briefing import charts
from dashboard.briefing.content import Briefing, build_briefing, check_request
from dashboard.charts import theme
from dashboard.i18n import format_datetime, t
from dashboard.periods import Period

TEMPLATES = Path(__file__).resolve().parent / "templates"
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts")
FONT_FAMILY = "IOC Briefing Sans"  # unique names, so WeasyPrint uses exactly the files below
FALLBACK_FAMILY = "IOC Briefing Symbols"  # for the few signs Noto Sans lacks (≥ ≤ −)
FACES = (("normal", "normal"), ("bold", "normal"), ("normal", "italic"), ("bold", "italic"))
NOTO_FILES = ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSans-Italic.ttf", "NotoSans-BoldItalic.ttf")
DEJAVU_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf")


class FontsMissing(RuntimeError):
    """No font with Vietnamese glyphs was found on this machine."""


@dataclass(frozen=True)
class FontFace:
    weight: str
    style: str
    path: Path

    @property
    def url(self) -> str:
        return self.path.as_uri()


@dataclass(frozen=True)
class Fonts:
    main: list[FontFace]  # Noto Sans (fonts-noto-core), or DejaVu Sans when Noto is missing
    fallback: list[FontFace]  # DejaVu Sans behind Noto Sans


def _installed_fonts(directories: Iterable[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in directories:
        if directory.is_dir():
            for path in sorted(directory.rglob("*.ttf")):
                found.setdefault(path.name, path)
    return found


def _faces(files: tuple[str, ...], installed: dict[str, Path]) -> list[FontFace]:
    return [
        FontFace(weight, style, installed[name])
        for (weight, style), name in zip(FACES, files, strict=True)
        if name in installed
    ]


def find_fonts(directories: Iterable[Path] = FONT_DIRS) -> Fonts:
    """The TTF files of the briefing, looked up on this machine at run time.

    Raises FontsMissing naming the Debian packages when neither Noto Sans nor DejaVu Sans is installed.
    """
    directories = list(directories)
    installed = _installed_fonts(directories)
    noto, dejavu = _faces(NOTO_FILES, installed), _faces(DEJAVU_FILES, installed)
    if noto and noto[0].weight == "normal" and noto[0].style == "normal":
        return Fonts(noto, dejavu)
    if dejavu and dejavu[0].weight == "normal" and dejavu[0].style == "normal":
        return Fonts(dejavu, [])
    raise FontsMissing(
        f"no {NOTO_FILES[0]} or {DEJAVU_FILES[0]} under "
        + ", ".join(map(str, directories))
        + "; install the fonts: apt-get install fonts-noto-core fonts-dejavu-core"
    )


def _environment(lang: str) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["t"] = lambda key, **values: t(key, lang, **values)
    environment.globals["status_colour"] = theme.status_colour
    environment.filters["datetime"] = lambda value: format_datetime(value, lang)
    environment.filters["code"] = _inline_code
    return environment


def _inline_code(words: str) -> markupsafe.Markup:
    """Text with `commands` set as <code>, everything else escaped."""
    parts = str(words).split("`")
    return markupsafe.Markup("").join(
        markupsafe.Markup("<code>{}</code>").format(part) if index % 2 else markupsafe.escape(part)
        for index, part in enumerate(parts)
    )


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_html(briefing: Briefing, images: dict[str, bytes], fonts: Fonts | None = None) -> str:
    """The briefing as one self-contained HTML document (images inline, fonts by file URL)."""
    environment = _environment(briefing.lang)
    fonts = fonts or find_fonts()
    css = environment.get_template("briefing.css").render(
        faces=fonts.main,
        fallback_faces=fonts.fallback,
        family=FONT_FAMILY,
        fallback_family=FALLBACK_FAMILY,
        theme=theme,
        footer=t("briefing.footer", briefing.lang, week=briefing.week_code),
        page_word=t("briefing.page", briefing.lang),
    )
    return environment.get_template("briefing.html.j2").render(
        b=briefing, css=css, images={name: _data_uri(png) for name, png in images.items()}, theme=theme
    )


def html_to_pdf(html: str) -> bytes:
    """WeasyPrint, allowed to read local files and inline data only (never the network)."""
    import weasyprint

    fetcher = weasyprint.URLFetcher(allowed_protocols={"file", "data"}, fail_on_errors=True)
    return weasyprint.HTML(string=html, base_url=str(TEMPLATES), url_fetcher=fetcher).write_pdf()


def briefing_pdf(briefing: Briefing) -> bytes:
    """The PDF of an already built briefing (charts drawn by one kaleido server)."""
    fonts = find_fonts()  # fail on missing fonts before starting Chromium
    images = charts.to_png(charts.figures(briefing))
    return html_to_pdf(render_html(briefing, images, fonts))


def render_briefing(
    engine: Engine,
    week: str | Period,
    area: str | None = None,
    lang: str = "vi",
    now: datetime | None = None,
    *,
    scope: Scope = WHOLE_CITY,
    viewer: str = "",
) -> bytes:
    """The weekly briefing PDF for an ISO week ("2026-W47" or its Period), the whole city or one area code, over the
    cases `scope` allows (named on the cover when restricted, with `viewer`).

    Raises BriefingInputError (bad week or area, no data), FontsMissing or ChartExportError.
    """
    fonts = find_fonts()
    check_request(engine, week, area, lang)  # refuse bad input before Chromium starts
    with charts.png_export() as export:  # Chromium starts while the queries run
        briefing = build_briefing(engine, week, area, lang, now, scope=scope, viewer=viewer)
        images = export(charts.figures(briefing))
    return html_to_pdf(render_html(briefing, images, fonts))
