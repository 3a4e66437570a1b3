"""`--as NAME` on `kpi`, `records` and `brief` (issue 19): the command computes what the user NAME would see.

The user is read from the accounts of the database's operational store (`dashboard.db.accounts.load_user`); their
scope goes into every query (an agency officer's figures count only their agencies' and wards' cases), their role
decides whether they may run the command at all (`records` needs the right to see records, `brief` to download),
and whether citizens' personal details are shown (IOC_PII_ROLES). An unknown or disabled name, or a role without
the right, stops the command with exit code 2 and says why.
"""

from __future__ import annotations

import argparse

from dashboard.access.identity import User
from dashboard.access.roles import Can


def add_as_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as",
        dest="as_name",
        metavar="NAME",
        default=None,
        help="compute as the user NAME sees it: only the cases of their scope (see `users list`)",
    )


def acting_user(database_url: str, name: str, right: Can | None = None) -> User | str:
    """The active user `name` of the database's accounts, or the message saying why the command cannot run as them."""
    from sqlalchemy.exc import SQLAlchemyError

    from dashboard import config
    from dashboard.db import accounts
    from dashboard.db.engine import DatabaseError
    from dashboard.db.ops import ops_engine

    try:
        user = accounts.load_user(ops_engine(database_url), name, pii_roles=config.pii_roles())
    except (DatabaseError, SQLAlchemyError) as error:
        return f"cannot read the accounts to run --as {name!r}: {error}"
    if user is None:
        return f"--as {name!r}: no active user of that name (unknown or disabled); `python -m dashboard users list`"
    if right is not None and not user.can(right):
        return f"--as {name!r}: the role {user.role} may not {_WORDS.get(right, str(right))}"
    return user


_WORDS = {Can.RECORDS: "see records (case lists)", Can.DOWNLOAD: "download reports (the PDF briefing)"}


def resolve(args: argparse.Namespace, right: Can | None = None) -> str | None:
    """Put the `--as` user (or None) in `args.user`; the error message when there is one."""
    args.user = None
    name = getattr(args, "as_name", None)
    if name is None:
        return None
    found = acting_user(args.database_url, name, right)
    if isinstance(found, str):
        return found
    args.user = found
    return None


def scope_of(args: argparse.Namespace):
    """The scope the command computes over: the `--as` user's, else the whole city."""
    from dashboard.access.scope import WHOLE_CITY

    user = getattr(args, "user", None)
    return user.scope if user is not None else WHOLE_CITY
