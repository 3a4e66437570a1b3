"""The access log's retention: rows older than IOC_AUDIT_RETENTION_DAYS days are deleted (dashboard.db.audit.purge,
the one delete the table's triggers let through, and only of rows older than the cut-off). Nightly by default."""

from __future__ import annotations

from dashboard import config
from dashboard.db import audit
from dashboard.db.ops import ops_engine
from dashboard.jobs.registry import JobContext, JobOutcome, job

NAME = "audit_retention"
CRON = "30 2 * * *"


@job(NAME, CRON, "Delete access-log rows older than IOC_AUDIT_RETENTION_DAYS")
def audit_retention(ctx: JobContext) -> JobOutcome:
    days = config.audit_retention_days()
    deleted = audit.purge(ops_engine(ctx.url), older_than_days=days, now=ctx.now)
    return JobOutcome(deleted, {"deleted": deleted, "retention_days": days})
