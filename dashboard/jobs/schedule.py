"""Cron expressions as the worker reads them: five fields (minute hour day month weekday), weekdays numbered as in
crontab (0 or 7 = Sunday, 1 = Monday). APScheduler 3 numbers weekdays from Monday = 0, so the weekday field is turned
into day names before it reaches `CronTrigger`. Six fields put seconds first (tests use "*/1 * * * * *")."""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday_number(text: str) -> int:
    number = int(text)
    if not 0 <= number <= 7:
        raise ValueError(f"weekday {text} is not between 0 and 7")
    return number % 7


def crontab_weekdays(field: str) -> str:
    """The crontab weekday field in day names (`1-5` → `mon,tue,wed,thu,fri`); names and `*` pass unchanged."""
    parts = []
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        if base != "*" and not base.replace("-", "").isdigit():
            parts.append(part)  # names (mon-fri) mean the same to both
            continue
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"weekday step {step_text} must be at least 1")
        if base == "*":
            if step == 1:
                parts.append("*")
                continue
            first, last = 0, 6
        elif "-" in base:
            low, high = base.split("-", 1)
            first, last = int(low), int(high)
            if not (0 <= first <= 7 and 0 <= last <= 7) or last < first:
                raise ValueError(f"weekday range {base} is not valid")
        else:
            first = last = int(base)
            if not 0 <= first <= 7:
                raise ValueError(f"weekday {base} is not between 0 and 7")
        days = sorted({_weekday_number(str(day)) for day in range(first, last + 1, step)})
        parts.extend(DAY_NAMES[day] for day in days)
    return ",".join(dict.fromkeys(parts))


def cron_trigger(expression: str, timezone) -> CronTrigger:
    """The trigger of a crontab expression in `timezone` (a name or tzinfo); ValueError when it cannot be read."""
    fields = expression.split()
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        raise ValueError(f"{expression!r} has {len(fields)} fields; a cron expression has 5")
    second, minute, hour, day, month, weekday = fields
    return CronTrigger(
        second=second,
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_weekdays(weekday),
        timezone=timezone,
    )
