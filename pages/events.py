"""Sự kiện — the events every time chart marks (public holidays loaded from the `holidays` package, and what
operators add: a storm, a flood, the Huế Festival, a road closure), listed for the chosen period with the kind filter
in the address; the administrator adds, edits and deletes them."""

from __future__ import annotations

import streamlit as st

from dashboard.access.roles import Can
from dashboard.db import queries
from dashboard.db.event_queries import KINDS, EventError, split_wards
from dashboard.i18n import format_date, t
from dashboard.web import admin, cache, url_state, widgets
from dashboard.web import events as events_web

lang = url_state.lang()
url = cache.current_url()
kinds = url_state.dimension_filter(
    "kind", {k: t(f"events.kind.{k}", lang) for k in KINDS}, t("events.filter.kind", lang)
)
selection = url_state.current()
period = selection.period
# The holidays of the data's years are loaded the first time (idempotent), as for the charts.
cache.query(events_web.chart_events, url, period.start, period.end, (), ttl=events_web.TTL_SECONDS)
frame = cache.query(events_web.all_events, url, period.start, period.end, kinds, ttl=events_web.TTL_SECONDS)

st.title(t("page.events", lang))
st.caption(f"{widgets.period_caption(selection)} · {t('events.caption', lang)}")

if frame.empty:
    st.info(t("events.none", lang))
else:
    names = url_state.area_names(cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS))
    table = frame.assign(
        start_date=frame["start_date"].map(lambda d: format_date(d, lang)),
        end_date=frame["end_date"].map(lambda d: format_date(d, lang)),
        kind=frame["kind"].map(lambda k: t(f"events.kind.{k}", lang)),
        description=frame["description"].fillna(""),
        wards=frame["wards"].map(
            lambda w: ", ".join(names.get(c, c) for c in split_wards(w)) or t("events.city_wide", lang)
        ),
        source=frame["source"].map(lambda s: t(f"events.source.{s}", lang)),
    )
    columns = ["id", "start_date", "end_date", "kind", "title", "description", "wards", "source"]
    widgets.show_table(table[columns].rename(columns={c: t(f"events.column.{c}", lang) for c in columns}))

st.subheader(t("events.add.heading", lang))
if not admin.may(Can.MANAGE_EVENTS):
    st.caption(t("events.admin_only", lang))
else:
    with st.form("events_add", clear_on_submit=True):
        kind = st.selectbox(
            t("events.column.kind", lang), KINDS, format_func=lambda k: t(f"events.kind.{k}", lang), key="events_kind"
        )
        title = st.text_input(t("events.column.title", lang), key="events_title")
        first_column, last_column = st.columns(2)
        first = first_column.date_input(t("events.column.start_date", lang), format="DD/MM/YYYY", key="events_from")
        last = last_column.date_input(t("events.column.end_date", lang), format="DD/MM/YYYY", key="events_to")
        wards = st.text_input(t("events.form.wards", lang), key="events_wards")
        description = st.text_area(t("events.column.description", lang), key="events_description")
        if st.form_submit_button(t("events.add.submit", lang)):
            try:
                new_id = events_web.add(
                    url,
                    kind=kind,
                    title=title,
                    start=first,
                    end=last or first,
                    description=description,
                    wards=wards.replace(";", ",").split(","),
                )
            except EventError as error:
                st.error(t("events.add.failed", lang, error=str(error)))
            else:
                st.success(t("events.add.done", lang, id=new_id))
                events_web.clear()

    own = frame[frame["source"] == "operator"] if not frame.empty else frame
    if not own.empty:
        st.subheader(t("events.edit.heading", lang))
        labels = {int(r.id): f"#{int(r.id)} · {r.start_date:%d/%m/%Y} · {r.title}" for r in own.itertuples()}
        chosen = st.selectbox(t("events.edit.event", lang), list(labels), format_func=labels.get, key="events_edit_id")
        row = own[own["id"] == chosen].iloc[0]
        with st.form("events_edit"):
            kind = st.selectbox(
                t("events.column.kind", lang),
                KINDS,
                index=KINDS.index(row["kind"]),
                format_func=lambda k: t(f"events.kind.{k}", lang),
            )
            title = st.text_input(t("events.column.title", lang), value=row["title"])
            first_column, last_column = st.columns(2)
            first = first_column.date_input(t("events.column.start_date", lang), value=row["start_date"])
            last = last_column.date_input(t("events.column.end_date", lang), value=row["end_date"])
            wards = st.text_input(t("events.form.wards", lang), value=row["wards"] or "")
            description = st.text_area(t("events.column.description", lang), value=row["description"] or "")
            save, remove = st.columns(2)
            if save.form_submit_button(t("events.edit.submit", lang)):
                try:
                    events_web.update(
                        url,
                        int(chosen),
                        kind=kind,
                        title=title,
                        start=first,
                        end=last,
                        description=description,
                        wards=wards.replace(";", ",").split(","),
                    )
                except EventError as error:
                    st.error(t("events.add.failed", lang, error=str(error)))
                else:
                    st.success(t("events.edit.done", lang, id=chosen))
                    events_web.clear()
            if remove.form_submit_button(t("events.delete.submit", lang)):
                events_web.delete(url, int(chosen))
                st.success(t("events.delete.done", lang, id=chosen))
                events_web.clear()
