"""Cảnh báo — the alerts the worker's `alerts` job keeps open (by severity and agency), their history in the chosen
period with the rule, severity and agency filters in the address, and the administrator's acknowledgement."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.access.roles import Can
from dashboard.i18n import format_number, t
from dashboard.jobs.alert_rules import RULES, SEVERITIES
from dashboard.periods import local_now
from dashboard.web import admin, cache, url_state, widgets
from dashboard.web import alerts as web_alerts

TTL_SECONDS = 15
lang = url_state.lang()
url = cache.current_url()

url_state.dimension_filter("rule", {r: t(f"alerts.rule.{r}", lang) for r in RULES}, t("alerts.filter.rule", lang))
url_state.dimension_filter(
    "severity", {s: t(f"alerts.severity.{s}", lang) for s in SEVERITIES}, t("alerts.filter.severity", lang)
)
open_rows = cache.query(web_alerts.alert_list, url, True, ttl=TTL_SECONDS)
selection = url_state.current()
period = selection.period
history = cache.query(web_alerts.alert_list, url, False, period.start_at, period.end_before, ttl=TTL_SECONDS)
agencies = sorted(set(open_rows["agency"].dropna()) | set(history["agency"].dropna()))
chosen_agencies = url_state.dimension_filter("agency", {a: a for a in agencies}, t("alerts.filter.agency", lang))
chosen = selection.dimensions


def narrowed(frame: pd.DataFrame) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    if chosen.get("rule"):
        keep &= frame["rule"].isin(chosen["rule"])
    if chosen.get("severity"):
        keep &= frame["severity"].isin(chosen["severity"])
    if chosen_agencies:
        keep &= frame["agency"].isin(chosen_agencies)
    return frame[keep]


def readable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    table = frame[columns].copy()
    if "rule" in table:
        table["rule"] = table["rule"].map(lambda r: t(f"alerts.rule.{r}", lang) if r in RULES else r)
    if "severity" in table:
        table["severity"] = table["severity"].map(lambda s: t(f"alerts.severity.{s}", lang))
    if "agency" in table:
        table["agency"] = table["agency"].fillna(t("alerts.no_agency", lang))
    return table.rename(columns={c: t(f"alerts.column.{c}", lang) for c in columns})


st.title(t("page.alerts", lang))
st.caption(f"{widgets.period_caption(selection)} · {t('alerts.caption', lang)}")

open_now = narrowed(open_rows)
st.subheader(t("alerts.open.heading", lang))
if open_now.empty:
    st.info(t("alerts.open.none", lang))
else:
    for column, severity in zip(st.columns(len(SEVERITIES)), reversed(SEVERITIES), strict=True):
        column.metric(
            t(f"alerts.severity.{severity}", lang), format_number(int((open_now["severity"] == severity).sum()), lang)
        )
    by_agency = (
        open_now.assign(agency=open_now["agency"].fillna(t("alerts.no_agency", lang)))
        .groupby(["agency", "severity"])
        .size()
        .rename("count")
        .reset_index()
        .sort_values(["count", "agency"], ascending=[False, True])
    )
    st.markdown(f"**{t('alerts.by_agency', lang)}**")
    widgets.show_table(readable(by_agency, ["agency", "severity", "count"]))
    columns = ["id", "rule", "subject", "agency", "severity", "opened_at", "escalated_at", "acknowledged_at"]
    widgets.show_table(readable(open_now, columns))

st.subheader(t("alerts.ack.heading", lang))
waiting = open_now[open_now["acknowledged_at"].isna()]
if not admin.may(Can.ACK_ALERTS):
    st.caption(t("alerts.ack.admin_only", lang))
elif waiting.empty:
    st.caption(t("alerts.ack.none", lang))
else:
    labels = {
        int(row.id): f"#{int(row.id)} · {t(f'alerts.rule.{row.rule}', lang)} · {row.subject}"
        for row in waiting.itertuples()
    }
    with st.form("alerts_ack"):
        alert_id = st.selectbox(t("alerts.ack.alert", lang), list(labels), format_func=labels.get, key="alerts_ack_id")
        note = st.text_area(t("alerts.ack.note", lang), key="alerts_ack_note")
        if st.form_submit_button(t("alerts.ack.submit", lang)):
            if web_alerts.acknowledge(url, int(alert_id), "admin", note.strip(), local_now()):
                st.success(t("alerts.ack.done", lang, id=alert_id))
            else:
                st.warning(t("alerts.ack.failed", lang, id=alert_id))
            cache._cached(TTL_SECONDS).clear()  # the alerts' reads only

st.subheader(t("alerts.history.heading", lang))
state = url_state.page_choice(
    "state",
    {s: t(f"alerts.state.{s}", lang) for s in ("all", "open", "resolved")},
    t("alerts.filter.state", lang),
    "all",
    "alerts_state",
)
past = narrowed(history)
if state == "open":
    past = past[past["resolved_at"].isna()]
elif state == "resolved":
    past = past[past["resolved_at"].notna()]
if past.empty:
    st.info(t("alerts.history.none", lang))
else:
    columns = [
        "id",
        "rule",
        "subject",
        "agency",
        "severity",
        "opened_at",
        "escalated_at",
        "acknowledged_at",
        "acknowledged_by",
        "acknowledged_note",
        "resolved_at",
    ]
    widgets.show_table(readable(past, columns))
