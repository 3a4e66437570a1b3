"""Nhật ký truy cập — the access log for the administrator: who signed in, viewed, exported, imported or changed
what, for the period and the user, action and text filters (in the address), newest first, with a CSV of it (itself
logged as audit_export). The reads and words: dashboard/web/audit.py; the table: dashboard/db/audit.py."""

from __future__ import annotations

import streamlit as st

from dashboard import config, exports
from dashboard.db.audit import ACTIONS
from dashboard.i18n import format_date, t
from dashboard.web import audit, cache, url_state, widgets

lang = url_state.lang()
url = cache.current_url()
names = cache.query(audit.actor_names, url, ttl=0)
actors = url_state.dimension_filter(
    "user", {n: n or t("audit.visitor", lang) for n in names}, t("audit.filter.user", lang)
)
actions = url_state.dimension_filter(
    "action", {a: audit.action_label(a, lang) for a in ACTIONS}, t("audit.filter.action", lang)
)
selection = url_state.current()
start, end_before = selection.period.start_at, selection.period.end_before

st.title(t("page.audit", lang))
period_words = f"{format_date(selection.period.start)} – {format_date(selection.period.end)}"
st.caption(
    f"{period_words} · " + t("audit.caption", lang, days=widgets.format_count(config.audit_retention_days(), lang))
)
text = st.text_input(t("audit.filter.text", lang), key="audit_text", placeholder=t("audit.filter.text_hint", lang))
args = (url, start, end_before, actors, actions, text.strip())
frame = cache.query(audit.log_rows, *args, audit.PAGE_ROWS, ttl=0)
counts = cache.query(audit.action_counts, url, start, end_before, actors, ttl=0)  # every action: the tiles

total, exports_n = int(counts["rows"].sum()), int(counts.loc[counts["action"] == "export", "rows"].sum())
failed = int(counts.loc[counts["action"].isin(["login_failed", "login_locked"]), "rows"].sum())
tiles = st.columns(3)
tiles[0].metric(t("audit.tile.rows", lang), widgets.format_count(total, lang))
tiles[1].metric(t("audit.tile.exports", lang), widgets.format_count(exports_n, lang))
tiles[2].metric(t("audit.tile.failed_logins", lang), widgets.format_count(failed, lang))

if frame.empty:
    st.info(t("audit.none", lang), icon=":material/inbox:")
else:
    st.caption(t("audit.shown", lang, shown=widgets.format_count(len(frame), lang)))
    widgets.show_table(audit.readable_log(frame, lang), height=min(560, 35 * (len(frame) + 1) + 3))
    st.download_button(
        t("download.csv", lang),
        data=audit.download(
            "audit_export",
            "audit_log",
            lambda: exports.table_bytes(
                audit.readable_log(audit.log_rows(None, *args, audit.EXPORT_ROWS), lang), "csv"
            ),
            format="csv",
            users=list(actors),
            actions=list(actions),
            text=text.strip(),
            **{"from": str(selection.period.start), "to": str(selection.period.end)},
        ),
        file_name=f"nhat-ky-truy-cap-{selection.period.start}-{selection.period.end}.csv",
        mime="text/csv",
        key="audit_download_csv",
        icon=":material/download:",
        on_click="ignore",
    )
