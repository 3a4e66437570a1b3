"""Leader directives ("ý kiến chỉ đạo") on the pages: the small "Ghi ý kiến chỉ đạo" popover offered next to a
figure (under every KPI tile, beside the records button) and the "Chỉ đạo" page's reads and writes. Directives live
in the operational store (dashboard.db.ops), reached through the data URL; only an administrator writes (for now:
roles arrive with the access issue)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from dashboard.access.roles import Can
from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import directive_queries
from dashboard.i18n import t
from dashboard.periods import local_now
from dashboard.web import admin, audit, cache

TTL_SECONDS = 15
DEFAULT_DUE_DAYS = 7


def directive_list(_engine, url: str, open_only: bool = False, *, scope: Scope = WHOLE_CITY) -> pd.DataFrame:
    """The directives within the user's `scope` (given by cache.query)."""
    return directive_queries.list_directives(url, local_now(), open_only=open_only, scope=scope)


def directive_history(_engine, url: str) -> pd.DataFrame:
    return directive_queries.history(url)


def clear() -> None:
    cache._cached(TTL_SECONDS).clear()


def create(url: str, text: str, subject_kind: str, subject_key: str, assignee: str, due: date | None) -> int:
    new_id = directive_queries.add_directive(
        url, text, subject_kind, subject_key, assignee=assignee, due_date=due, created_by="admin", now=local_now()
    )
    audit.log("directive_change", str(new_id), change="add", subject=f"{subject_kind}:{subject_key}", assignee=assignee)
    return new_id


def change_status(url: str, directive_id: int, status: str, note: str = "") -> bool:
    changed = directive_queries.set_status(url, directive_id, status, "admin", local_now(), note)
    if changed:
        audit.log("directive_change", str(directive_id), change="status", status=status, note=note)
    return changed


def popover(subject_kind: str, subject_key: str, language: str, key: str, subject_label: str | None = None) -> None:
    """The "Ghi ý kiến chỉ đạo" popover for one subject (operators and administrators; nothing is drawn otherwise)."""
    if not admin.may(Can.MANAGE_DIRECTIVES):
        return
    with st.popover(t("directives.write", language), icon=":material/gavel:", type="tertiary"):
        st.caption(t("directives.about", language, subject=subject_label or subject_key))
        with st.form(f"directive_{key}", clear_on_submit=True, border=False):
            text = st.text_area(t("directives.column.text", language), key=f"directive_text_{key}")
            assignee = st.text_input(t("directives.column.assignee", language), key=f"directive_assignee_{key}")
            due = st.date_input(
                t("directives.column.due_date", language),
                value=local_now().date() + timedelta(days=DEFAULT_DUE_DAYS),
                format="DD/MM/YYYY",
                key=f"directive_due_{key}",
            )
            if st.form_submit_button(t("directives.save", language)):
                if not text.strip():
                    st.error(t("directives.empty", language))
                else:
                    new_id = create(cache.current_url(), text, subject_kind, subject_key, assignee, due)
                    clear()
                    st.success(t("directives.saved", language, id=new_id))


def tile_popover(definition, language: str) -> None:
    """What `widgets.kpi_grid` draws under each tile after the records button: the directive popover of the figure."""
    popover("figure", definition.key, language, f"tile_{definition.key}", t(f"kpi.{definition.key}", language))


def case_popover(frame: pd.DataFrame, language: str) -> None:
    """In the records dialog: the directive about one of the cases on the page (operators and administrators). `frame` is the
    page of records (columns source, source_id, and agency when known, which is offered as the assignee)."""
    if not admin.may(Can.MANAGE_DIRECTIVES) or frame.empty or not {"source", "source_id"} <= set(frame.columns):
        return
    cases = [f"{source}:{source_id}" for source, source_id in zip(frame["source"], frame["source_id"], strict=True)]
    agencies = dict(zip(cases, frame["agency"], strict=True)) if "agency" in frame else {}
    with st.popover(t("directives.write_case", language), icon=":material/gavel:"):
        with st.form("directive_case", clear_on_submit=True, border=False):
            case = st.selectbox(t("directives.subject.case", language), cases, key="directive_case_key")
            text = st.text_area(t("directives.column.text", language), key="directive_case_text")
            assignee = st.text_input(
                t("directives.column.assignee", language),
                key="directive_case_assignee",
                help=t("directives.assignee_help", language),
            )
            due = st.date_input(
                t("directives.column.due_date", language),
                value=local_now().date() + timedelta(days=DEFAULT_DUE_DAYS),
                format="DD/MM/YYYY",
                key="directive_case_due",
            )
            if st.form_submit_button(t("directives.save", language)):
                if not text.strip():
                    st.error(t("directives.empty", language))
                else:
                    chosen_agency = agencies.get(case)
                    who = assignee.strip() or (None if pd.isna(chosen_agency) else chosen_agency)
                    new_id = create(cache.current_url(), text, "case", case, who or "", due)
                    clear()
                    st.success(t("directives.saved", language, id=new_id))
