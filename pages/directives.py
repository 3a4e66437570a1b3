"""Chỉ đạo — leader directives ("ý kiến chỉ đạo") followed until done: every directive still open and those created
in the chosen period, with the status and assignee filters in the address and each one's history; the administrator
writes a new one (about a figure, a ward, an agency or a case) and changes a status."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard.access.roles import Can
from dashboard.db import queries
from dashboard.db.directive_queries import SHOWN_STATUSES, STATUSES, SUBJECT_KINDS, DirectiveError
from dashboard.i18n import format_date, format_number, t
from dashboard.metrics.kpis import KPI_BY_KEY
from dashboard.periods import local_now
from dashboard.web import admin, cache, url_state, widgets
from dashboard.web import directives as web_directives

lang = url_state.lang()
url = cache.current_url()
TTL = web_directives.TTL_SECONDS

statuses = url_state.dimension_filter(
    "status", {s: t(f"directives.status.{s}", lang) for s in SHOWN_STATUSES}, t("directives.filter.status", lang)
)
every = cache.query(web_directives.directive_list, url, False, ttl=TTL)
assignees = sorted(set(every["assignee"].dropna()))
chosen_assignees = url_state.dimension_filter(
    "assignee", {a: a for a in assignees}, t("directives.filter.assignee", lang)
)
selection = url_state.current()
period = selection.period

created = pd.to_datetime(every["created_at"])
in_period = (created >= pd.Timestamp(period.start)) & (created < pd.Timestamp(period.end + timedelta(days=1)))
shown = every[(every["status"] != "done") | in_period]
if statuses:
    shown = shown[shown["shown_status"].isin(statuses)]
if chosen_assignees:
    shown = shown[shown["assignee"].isin(chosen_assignees)]


names = url_state.area_names(cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS))


def subject_text(kind: str, key: str) -> str:
    """What a directive is about, readable: the figure's label, the ward's name, the agency or the case."""
    if kind == "figure" and key in KPI_BY_KEY:
        shown = t(f"kpi.{key}", lang)
    elif kind == "ward":
        shown = names.get(key, key)
    else:
        shown = key
    return f"{t(f'directives.subject.{kind}', lang)}: {shown}"


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    table = frame.assign(
        status=frame["shown_status"].map(lambda s: t(f"directives.status.{s}", lang)),
        subject=[subject_text(k, v) for k, v in zip(frame["subject_kind"], frame["subject_key"], strict=True)],
        due_date=frame["due_date"].map(lambda d: "—" if d is None or pd.isna(d) else format_date(d, lang)),
        assignee=frame["assignee"].fillna("—"),
    )
    columns = ["id", "text", "subject", "assignee", "due_date", "status", "created_at", "closed_at"]
    return table[columns].rename(columns={c: t(f"directives.column.{c}", lang) for c in columns})


st.title(t("page.directives", lang))
st.caption(f"{widgets.period_caption(selection)} · {t('directives.caption', lang)}")

counts = every["shown_status"].value_counts()
for column, status in zip(st.columns(len(SHOWN_STATUSES)), SHOWN_STATUSES, strict=True):
    column.metric(t(f"directives.status.{status}", lang), format_number(int(counts.get(status, 0)), lang))
st.caption(t("directives.counts_note", lang))

if shown.empty:
    st.info(t("directives.none", lang))
else:
    widgets.show_table(readable(shown))
    history = cache.query(web_directives.directive_history, url, ttl=TTL)
    with st.expander(t("directives.history.heading", lang)):
        own = history[history["directive_id"].isin(shown["id"])]
        own = own.assign(status=own["status"].map(lambda s: t(f"directives.status.{s}", lang)))
        columns = ["directive_id", "status", "changed_by", "changed_at", "note"]
        widgets.show_table(own[columns].rename(columns={c: t(f"directives.column.{c}", lang) for c in columns}))

st.subheader(t("directives.change.heading", lang))
open_rows = every[every["status"] != "done"]
if not admin.may(Can.MANAGE_DIRECTIVES):
    st.caption(t("directives.admin_only", lang))
else:
    if open_rows.empty:
        st.caption(t("directives.change.none", lang))
    else:
        labels = {int(r.id): f"#{int(r.id)} · {str(r.text)[:60]}" for r in open_rows.itertuples()}
        with st.form("directives_change"):
            directive_id = st.selectbox(
                t("directives.change.directive", lang), list(labels), format_func=labels.get, key="directives_id"
            )
            status = st.selectbox(
                t("directives.column.status", lang),
                STATUSES,
                format_func=lambda s: t(f"directives.status.{s}", lang),
                key="directives_status",
            )
            note = st.text_input(t("directives.column.note", lang), key="directives_note")
            if st.form_submit_button(t("directives.change.submit", lang)):
                if web_directives.change_status(url, int(directive_id), status, note):
                    st.success(t("directives.change.done", lang, id=directive_id))
                else:
                    st.warning(t("directives.change.same", lang, id=directive_id))
                web_directives.clear()

    st.subheader(t("directives.new.heading", lang))
    with st.form("directives_new", clear_on_submit=True):
        kind = st.selectbox(
            t("directives.column.subject_kind", lang),
            SUBJECT_KINDS,
            format_func=lambda k: t(f"directives.subject.{k}", lang),
            key="directives_new_kind",
        )
        subject = st.text_input(t("directives.column.subject_key", lang), key="directives_new_subject")
        text = st.text_area(t("directives.column.text", lang), key="directives_new_text")
        assignee = st.text_input(t("directives.column.assignee", lang), key="directives_new_assignee")
        due = st.date_input(
            t("directives.column.due_date", lang),
            value=local_now().date() + timedelta(days=web_directives.DEFAULT_DUE_DAYS),
            format="DD/MM/YYYY",
            key="directives_new_due",
        )
        if st.form_submit_button(t("directives.save", lang)):
            try:
                new_id = web_directives.create(url, text, kind, subject, assignee, due)
            except DirectiveError as error:
                st.error(t("directives.failed", lang, error=str(error)))
            else:
                st.success(t("directives.saved", lang, id=new_id))
                web_directives.clear()
