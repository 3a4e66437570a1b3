"""Nhập dữ liệu — administrators upload a file, check the column mapping, make a dry run, then import it.

The steps are functions of dashboard.ingest.upload; this page keeps the uploaded file and the last run in the
session (keys "ingest_*") and lays them out. A dry run or import runs in a worker process (upload.run_isolated)
with bounded memory and time, never in the page's server thread.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import config
from dashboard.boundaries import merger_date
from dashboard.db.engine import DatabaseError
from dashboard.i18n import format_date, format_number, t
from dashboard.ingest import dates, messages, readers, upload
from dashboard.ingest.importer import ImportAborted
from dashboard.web import admin, audit, cache, url_state, widgets

UPLOADED = "ingest_upload"  # {"path", "name", "sha256"} of the saved upload
DETECTED = "ingest_detection"  # (path, kind, Detection)
OUTCOME = "ingest_outcome"  # upload.Outcome of the last dry run or import
REQUEST = "ingest_request"  # "dry_run" / "import", set by the buttons for the next run
SENSORS = "ingest_sensors"  # {"path", "name", "sha256"} of the saved sensor list (traffic)
SENSORS_DETECTED = "ingest_sensor_detection"  # (path, Detection) of the sensor list
FOLDERS = "ingest_temp_uploads"  # {session key: upload.TempUpload}: the folders go when the session does
FIELDS_PER_ROW = 4
TILES_PER_ROW = 4
ROW_PX = 35

lang = url_state.lang()
upload.sweep_once()  # folders of sessions that ended without their finalizer (a killed server), older than a day


def keep_upload(key: str, data: bytes, name: str) -> None:
    """Save an upload under `key` (removing the one it replaces) with a finalizer for the end of the session."""
    previous = st.session_state.pop(key, None)
    upload.discard_upload(previous and previous["path"])
    folders = st.session_state.setdefault(FOLDERS, {})
    if key in folders:
        folders.pop(key).discard()
    if data is None:
        return
    path = upload.save_upload(data, name)
    folders[key] = upload.TempUpload(path)
    st.session_state[key] = {"path": str(path), "name": name, "sha256": readers.file_hash(path)}


def on_upload() -> None:
    """Keep the new upload in a temporary file (and forget the previous one, its detection and results)."""
    for key in (DETECTED, OUTCOME, "ingest_source"):
        st.session_state.pop(key, None)
    new = st.session_state.get("ingest_uploader")
    keep_upload(UPLOADED, new and new.getvalue(), new and new.name)


def on_sensor_upload() -> None:
    """Keep the new sensor list in a temporary file (and forget the previous one)."""
    st.session_state.pop(SENSORS_DETECTED, None)
    new = st.session_state.get("ingest_sensor_uploader")
    keep_upload(SENSORS, new and new.getvalue(), new and new.name)


def ask(what: str) -> None:
    st.session_state[REQUEST] = what


def detection_for(path: str, kind: str, wide: bool) -> upload.Detection:
    cached = st.session_state.get(DETECTED)
    if cached and cached[:2] == (path, (kind, wide)):
        return cached[2]
    detection = upload.detect(path, kind, wide=wide)
    st.session_state[DETECTED] = (path, (kind, wide), detection)
    return detection


def traffic_options() -> tuple[bool, int | None, dict | None]:
    """Wide table, minutes per count and the sensor list of a traffic file; (wide, period, stored sensors)."""
    st.markdown(f"**{t('ingest.traffic.heading', lang)}**")
    wide_column, period_column, sensors_column = st.columns([1, 1, 2])
    wide = wide_column.checkbox(
        t("ingest.traffic.wide", lang), key="ingest_wide", help=t("ingest.traffic.wide_help", lang)
    )
    wide_column.checkbox(  # read by the run settings (issue 17): unknown sensors rejected instead of registered
        t("ingest.traffic.strict", lang), key="ingest_strict_sensors", help=t("ingest.traffic.strict_help", lang)
    )
    period = period_column.number_input(
        t("ingest.traffic.period", lang),
        min_value=0,
        max_value=1440,
        value=0,
        step=5,
        key="ingest_period",
        help=t("ingest.traffic.period_help", lang),
    )
    sensors_column.file_uploader(
        t("ingest.traffic.sensors", lang),
        type=list(upload.UPLOAD_TYPES),
        key="ingest_sensor_uploader",
        on_change=on_sensor_upload,
        help=t("ingest.traffic.sensors_help", lang),
    )
    stored = st.session_state.get(SENSORS)
    if stored:
        cached = st.session_state.get(SENSORS_DETECTED)
        try:
            if not cached or cached[0] != stored["path"]:
                cached = (stored["path"], upload.detect_sensors(stored["path"]))
                st.session_state[SENSORS_DETECTED] = cached
        except readers.InputError as error:
            sensors_column.error(
                t("ingest.error.input", lang, message=messages.message(error, lang)), icon=":material/error:"
            )
            return bool(wide), int(period) or None, None
        found = cached[1]
        sensors_column.caption(
            t(
                "ingest.traffic.sensors_found",
                lang,
                file=found.file_name,
                mapping=", ".join(
                    f"{t(f'ingest.sensor_field.{name}', lang)} ← {found.mapping[name]}"
                    for name in upload.in_field_order("sensors", found.mapping)
                ),
            )
        )
        if "sensor_id" not in found.mapping:
            sensors_column.warning(t("ingest.traffic.sensors_no_id", lang), icon=":material/warning:")
            return bool(wide), int(period) or None, None
    return bool(wide), int(period) or None, stored


def field_label(name: str, required: tuple[str, ...]) -> str:
    label = t(f"ingest.field.{name}", lang)
    return t("ingest.required", lang, label=label) if name in required else label


def mapping_inputs(detection: upload.Detection, token: str) -> dict[str, str]:
    choices: dict[str, str | None] = {}
    names = list(detection.choices)
    for first in range(0, len(names), FIELDS_PER_ROW):
        for column, name in zip(st.columns(FIELDS_PER_ROW), names[first : first + FIELDS_PER_ROW], strict=False):
            options = detection.choices[name]
            detected = detection.mapping.get(name)
            choices[name] = column.selectbox(
                field_label(name, detection.required),
                options,
                index=options.index(detected) if detected in options else 0,
                format_func=lambda header: t("ingest.none", lang) if header is None else header,
                key=f"ingest_map.{token}.{detection.kind}.{name}",
                help=f"`{name}`",
            )
    return upload.chosen_mapping(choices)


def problem_text(problem: upload.MappingProblem) -> str:
    if problem.code == "no_sensor_columns":
        return t("ingest.problem.no_sensor_columns", lang)
    if problem.code == "missing":
        return t("ingest.problem.missing", lang, field=t(f"ingest.field.{problem.subject}", lang))
    return t(
        "ingest.problem.twice",
        lang,
        column=problem.subject,
        fields=", ".join(t(f"ingest.field.{name}", lang) for name in problem.fields),
    )


def attempt(path: str, settings: upload.RunSettings, *, dry_run: bool, sensors: str | None = None) -> upload.Outcome:
    """Run in a worker process that writes through engine.writing (the app's readers never wait); errors become
    text. Leaving the page or a new click ends this script run and with it the worker."""
    bar = st.progress(0.0, text=t("ingest.progress", lang, rows=0))

    def progress(result, share: float) -> None:
        bar.progress(
            min(max(float(share), 0.0), 1.0),
            text=t("ingest.progress", lang, rows=format_number(result.rows_read, lang)),
        )

    outcome = upload.Outcome(settings, dry_run)
    try:
        outcome.result = upload.run_isolated(
            cache.current_url(), path, settings, dry_run=dry_run, progress=progress, sensors=sensors
        )
    except (readers.InputError, dates.DateFormatError) as error:
        outcome.error = t("ingest.error.input", lang, message=messages.message(error, lang))
    except ImportAborted as aborted:
        outcome.result, outcome.error = (
            aborted.result,
            t("ingest.error.aborted", lang, message=messages.message(aborted, lang)),
        )
    except DatabaseError as error:
        outcome.error = t("ingest.error.database", lang, message=error)
    finally:
        bar.empty()
    if not dry_run:
        audit.log(
            "import", Path(path).name, kind=settings.kind, source=settings.source, ok=outcome.ok, **_counts(outcome)
        )
    if not dry_run and outcome.ok:
        st.cache_data.clear()  # every page reads the new rows on its next run
    return outcome


def _counts(outcome: upload.Outcome) -> dict:
    result = outcome.result
    names = ("inserted", "updated", "rejected", "import_id")
    return {name: getattr(result, name) for name in names} if result is not None else {"error": outcome.error}


def show_outcome(outcome: upload.Outcome) -> None:
    result = outcome.result
    if outcome.error:
        st.error(outcome.error, icon=":material/error:")
    if result is None:
        return
    heading = "ingest.result.dry_run" if outcome.dry_run else "ingest.result.done"
    st.subheader(t("ingest.result.aborted" if outcome.error else heading, lang))
    if not outcome.dry_run and outcome.ok:
        st.success(
            t(
                "ingest.done",
                lang,
                file=result.file_name,
                source=result.source,
                inserted=format_number(result.inserted, lang),
                updated=format_number(result.updated, lang),
            ),
            icon=":material/check_circle:",
        )
    suffix = ".dry" if outcome.dry_run else ".done"
    figures = list(upload.counts(result).items())
    if outcome.error:  # stopped before the merge: nothing was compared with the database
        figures = [(name, value) for name, value in figures if name not in upload.MERGE_COUNTS]
    columns = [*st.columns(TILES_PER_ROW), *st.columns(TILES_PER_ROW)]
    merger = merger_date(config.city())
    if merger is None:  # a city without a crosswalk has no former units to convert
        figures = [(name, value) for name, value in figures if name != "crosswalk"]
    for column, (name, value) in zip(columns, figures, strict=False):
        words = {"date": format_date(merger, lang)} if name == "crosswalk" else {}
        label = t(f"ingest.count.{name}" + (suffix if name in ("inserted", "updated") else ""), lang, **words)
        help_key = f"ingest.count.{name}_help"
        column.metric(
            label,
            format_number(value, lang),
            border=True,
            help=t(help_key, lang) if name in ("duplicates", "unknown_area") else None,
        )
    st.caption(
        t(
            "ingest.columns_used",
            lang,
            mapping=", ".join(
                f"{t(f'ingest.field.{name}', lang)} ← {upload.column_label(result.mapping[name], lang)}"
                for name in upload.in_field_order(result.kind, result.mapping)
            ),
        )
    )
    if result.period_minutes:
        st.caption(
            t("ingest.traffic.period_used", lang, minutes=format_number(result.period_minutes, lang))
            + (
                " · " + t("ingest.traffic.sensors_added", lang, sensors=format_number(result.sensors_added, lang))
                if result.sensors_added
                else ""
            )
        )
    if result.date_formats:
        st.caption(
            t(
                "ingest.date_formats",
                lang,
                formats=", ".join(
                    f"{t(f'ingest.field.{name}', lang)}: {rule}" for name, rule in result.date_formats.items()
                ),
            )
        )
    if not result.rejected:
        st.caption(t("ingest.rejects.none", lang))
        return
    reasons, sample = upload.reason_counts(result, lang), upload.reject_sample(result, lang)
    left, right = st.columns([1, 3])
    with left:
        st.markdown(f"**{t('ingest.rejects.reasons', lang)}**")
        widgets.show_table(reasons.rename(columns={c: t(f"ingest.col.{c}", lang) for c in reasons.columns}))
    if sample.empty:  # an aborted run carries no sample
        return
    with right:
        st.markdown(f"**{t('ingest.rejects.heading', lang, shown=len(sample))}**")
        widgets.show_table(sample.rename(columns={c: t(f"ingest.col.{c}", lang) for c in sample.columns}))


def main() -> None:
    st.title(t("ingest.heading", lang))
    st.markdown(t("ingest.intro", lang))
    if not admin.is_admin():  # the router only lists the page after login; this guards a stale session
        st.warning(t("ingest.not_admin", lang), icon=":material/lock:")
        return
    st.file_uploader(
        t("ingest.file", lang),
        type=list(upload.UPLOAD_TYPES),
        key="ingest_uploader",
        on_change=on_upload,
        help=t("ingest.file_help", lang),
    )
    stored = st.session_state.get(UPLOADED)
    if not stored:
        st.info(t("ingest.no_file", lang), icon=":material/upload_file:")
        return
    kind_column, source_column = st.columns(2)
    kind = kind_column.radio(
        t("ingest.kind", lang),
        upload.UPLOAD_KINDS,
        horizontal=True,
        key="ingest_kind",
        format_func=lambda code: t(f"ingest.kind.{code}", lang),
    )
    wide, period, sensors = traffic_options() if kind == "traffic" else (False, None, None)
    try:
        detection = detection_for(stored["path"], kind, wide)
    except readers.InputError as error:
        st.error(t("ingest.error.input", lang, message=messages.message(error, lang)), icon=":material/error:")
        return
    if "ingest_source" not in st.session_state:
        st.session_state["ingest_source"] = detection.source
    source = source_column.text_input(
        t("ingest.source", lang), key="ingest_source", max_chars=32, help=t("ingest.source_help", lang)
    )

    st.subheader(t("ingest.preview.heading", lang))
    st.caption(
        t(
            "ingest.preview.caption",
            lang,
            rows=len(detection.preview),
            file=detection.file_name,
            format=detection.file_format,
            encoding=detection.encoding or "–",
            delimiter=repr(detection.delimiter) if detection.delimiter else "–",
            columns=len(detection.headers),
        )
    )
    st.dataframe(
        detection.preview.fillna(""), hide_index=True, height=ROW_PX * (min(len(detection.preview), 10) + 1) + 3
    )

    st.subheader(t("ingest.mapping.heading", lang))
    st.caption(t("ingest.mapping.caption", lang))
    mapping = mapping_inputs(detection, stored["sha256"][:12] + (".wide" if wide else ""))
    if wide:
        columns = upload.sensor_columns(detection.headers, mapping)
        st.caption(
            t(
                "ingest.traffic.wide_sensors",
                lang,
                count=format_number(len(columns), lang),
                columns=", ".join(columns[:20]) + (" …" if len(columns) > 20 else ""),
            )
        )

    st.markdown(f"**{t('ingest.dates.heading', lang)}**")
    first, second, third = st.columns(3)
    dayfirst = first.checkbox(t("ingest.dayfirst", lang), key="ingest_dayfirst", help=t("ingest.dayfirst_help", lang))
    date_format = second.text_input(
        t("ingest.date_format", lang),
        key="ingest_date_format",
        placeholder="%d/%m/%Y %H:%M",
        help=t("ingest.date_format_help", lang),
    )
    max_reject = third.number_input(
        t("ingest.max_reject", lang),
        min_value=0.0,
        max_value=100.0,
        value=5.0,
        step=1.0,
        key="ingest_max_reject",
        help=t("ingest.max_reject_help", lang),
    )
    settings = upload.RunSettings.build(
        kind,
        source or detection.source,
        mapping,
        dayfirst=dayfirst,
        date_format=date_format,
        max_reject_rate=max_reject / 100,
        file_sha=stored["sha256"],
        wide=wide,
        period_minutes=period,
        sensors_sha=sensors["sha256"] if sensors else "",
        strict_sensors=bool(st.session_state.get("ingest_strict_sensors")),
    )
    problems = upload.mapping_problems(kind, mapping, wide) + (
        upload.wide_problems(detection.headers, mapping) if wide else []
    )
    for problem in problems:
        st.warning(problem_text(problem), icon=":material/warning:")

    buttons, working = st.container(), st.empty()
    request = st.session_state.pop(REQUEST, None)
    if request and not problems:  # a button was clicked: run before drawing the buttons, so they show the new state
        with working:
            st.session_state[OUTCOME] = attempt(
                stored["path"], settings, dry_run=request == "dry_run", sensors=sensors["path"] if sensors else None
            )
    outcome: upload.Outcome | None = st.session_state.get(OUTCOME)
    checked = outcome is not None and outcome.dry_run and outcome.ok and outcome.settings == settings
    with buttons:
        run_column, confirm_column, _ = st.columns([1, 1, 4])
        run_column.button(
            t("ingest.dry_run", lang),
            icon=":material/science:",
            disabled=bool(problems),
            help=t("ingest.dry_run_help", lang),
            key="ingest_dry_run",
            on_click=ask,
            args=("dry_run",),
        )
        confirm_column.button(
            t("ingest.confirm", lang),
            icon=":material/upload:",
            type="primary",
            disabled=bool(problems) or not checked,
            help=t("ingest.confirm_help", lang),
            key="ingest_confirm",
            on_click=ask,
            args=("import",),
        )
    if outcome is not None and outcome.dry_run and outcome.settings != settings:
        st.info(t("ingest.stale_dry_run", lang), icon=":material/refresh:")
    if outcome is not None:
        show_outcome(outcome)


main()
