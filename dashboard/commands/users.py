"""`python -m dashboard users`: accounts, their roles and scopes, and the wall's kiosk tokens (issue 19).

    python -m dashboard users add NAME --role ROLE [--agency A]... [--area CODE]... [--display-name TEXT]
    python -m dashboard users list
    python -m dashboard users disable NAME | enable NAME
    python -m dashboard users set-password NAME
    python -m dashboard users logout-all NAME
    python -m dashboard users kiosk-token add LABEL | list | revoke LABEL
    python -m dashboard users first-admin      # `make run`: on demo data with no account, admin + a random password

Passwords are read from standard input (typed twice at a terminal, or one line piped in); never from the command line,
where other users of the machine could see them. A kiosk token is printed once (only its SHA-256 is kept). Every
change is recorded in the access log. Exit codes: 0 done, 2 bad input or database problem.
"""

from __future__ import annotations

import argparse
import sys

from dashboard.access.roles import ACCOUNT_ROLES

ROLES = tuple(str(role) for role in ACCOUNT_ROLES)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("users", help="accounts, roles, scopes and kiosk tokens")
    actions = parser.add_subparsers(dest="users_action", required=True, metavar="{add,list,disable,enable,...}")
    add = actions.add_parser("add", help="create an account (password from standard input)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--agency", action="append", default=[], help="agency an officer sees (repeat)")
    add.add_argument("--area", action="append", default=[], metavar="CODE", help="ward an officer sees (repeat)")
    add.add_argument("--display-name", default="")
    actions.add_parser("list", help="every account: role, scope, disabled, last log-in")
    for action, text in (
        ("disable", "disable an account (its sessions end at once)"),
        ("enable", "enable a disabled account again"),
        ("set-password", "a new password (standard input); the user's sessions end"),
        ("logout-all", "end every session of the user (log out everywhere)"),
    ):
        actions.add_parser(action, help=text).add_argument("name")
    actions.add_parser(
        "first-admin", help="on a demo database without accounts: create `admin` with a random password (make run)"
    )
    kiosk = actions.add_parser("kiosk-token", help="tokens that open the wall (/wall?token=…) without a password")
    token_actions = kiosk.add_subparsers(dest="token_action", required=True, metavar="{add,list,revoke}")
    token_actions.add_parser("add", help="make a token (printed once)").add_argument("label")
    token_actions.add_parser("list", help="every token: label, made, last used, revoked")
    token_actions.add_parser("revoke", help="revoke a token at once").add_argument("label")
    parser.set_defaults(handler=command_users)


def read_password(prompt: str = "Password: ") -> str:
    """A password typed twice at a terminal, or the first line of standard input; ValueError when unusable."""
    import getpass

    if sys.stdin.isatty():
        password = getpass.getpass(prompt)
        if password != getpass.getpass("Repeat it: "):
            raise ValueError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise ValueError("the password is empty")
    return password


def check_scope_values(url: str, agencies: list[str], areas: list[str]) -> None:
    """Refuse an agency or area code the data does not know (when the database has data), listing the known ones."""
    from sqlalchemy.exc import SQLAlchemyError

    from dashboard.cli import _engine
    from dashboard.db.engine import DatabaseError, duckdb_file
    from dashboard.db.scope_values import known_agencies, known_areas

    if not agencies and not areas:
        return
    path = duckdb_file(url)
    if path is not None and not path.exists():
        return  # no data yet (a fresh clone): the values cannot be checked
    try:
        with _engine(argparse.Namespace(database_url=url), read_only=True) as engine:
            known_a, known_c = known_agencies(engine), known_areas(engine)
    except (DatabaseError, SQLAlchemyError):
        return  # no data tables yet: the values cannot be checked
    if unknown := [a for a in agencies if known_a and a not in known_a]:
        raise ValueError(f"unknown agency {', '.join(map(repr, unknown))}; known agencies: {', '.join(known_a)}")
    if unknown := [c for c in areas if known_c and c not in known_c]:
        listed = ", ".join(f"{code} ({name})" for code, name in known_c.items())
        raise ValueError(f"unknown area code {', '.join(map(repr, unknown))}; known areas: {listed}")


def _print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def command_users(args: argparse.Namespace) -> int:
    from dashboard.db import accounts, kiosk_tokens
    from dashboard.db.audit import cli_actor
    from dashboard.db.ops import ops_engine

    engine = ops_engine(args.database_url)
    actor = cli_actor()

    def audit(action: str, target: str, **details) -> None:
        accounts.audit(engine, actor=actor, role="cli", action=action, target=target, details=details or None)

    action = args.users_action
    try:
        if action == "add":
            name = accounts.check_name(args.name)
            check_scope_values(args.database_url, args.agency, args.area)
            accounts.scope_for(args.role, args.agency, args.area)  # refused before the password is asked
            if accounts.account_exists(engine, name):
                raise accounts.AccountError(f"user {name!r} already exists")
            user = accounts.add_user(
                engine,
                name,
                args.role,
                read_password(),
                agencies=args.agency,
                areas=args.area,
                display_name=args.display_name,
            )
            audit("user_change", name, change="add", role=str(user.role), scope=user.scope.describe())
            print(f"user {name} added: {user.role}, {user.scope.describe()}")
        elif action == "list":
            listed = accounts.list_users(engine)
            rows = [[a.name, a.role, a.scope, "yes" if a.disabled else "no", _when(a.last_login_at)] for a in listed]
            _print_table(rows, ["name", "role", "scope", "disabled", "last login"])
            print(f"{len(listed)} users")
        elif action in ("disable", "enable"):
            if action == "disable":
                ended = accounts.disable_user(engine, args.name)
                print(f"user {accounts.normalise_name(args.name)} disabled; {ended} sessions ended")
            else:
                accounts.enable_user(engine, args.name)
                print(f"user {accounts.normalise_name(args.name)} enabled")
            audit("user_change", accounts.normalise_name(args.name), change=action)
        elif action == "set-password":
            if not accounts.account_exists(engine, args.name):
                raise accounts.AccountError(f"no user called {accounts.normalise_name(args.name)!r}")
            ended = accounts.set_password(engine, args.name, read_password("New password: "))
            audit("user_change", accounts.normalise_name(args.name), change="password")
            print(f"password of {accounts.normalise_name(args.name)} changed; {ended} sessions ended")
        elif action == "first-admin":
            return _first_admin(args.database_url, engine, audit)
        elif action == "logout-all":
            ended = accounts.end_all_sessions(engine, args.name)
            audit("logout_all", accounts.normalise_name(args.name), sessions=ended)
            print(f"{ended} sessions of {accounts.normalise_name(args.name)} ended")
        else:
            return _kiosk(args, engine, kiosk_tokens, audit)
    except ValueError as error:  # AccountError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _first_admin(url: str, engine, audit) -> int:
    """What `make run` calls: nothing when an account exists; on demo data, the account `admin` with a random
    password printed once; on real data, how to create the first administrator."""
    import secrets

    from sqlalchemy.exc import SQLAlchemyError

    from dashboard import config
    from dashboard.cli import _engine
    from dashboard.db import accounts, queries
    from dashboard.db.engine import DatabaseError

    if accounts.count_users(engine) or config.get("IOC_ADMIN_PASSWORD_HASH").strip():
        return 0
    try:
        with _engine(argparse.Namespace(database_url=url), read_only=True) as data:
            demo = queries.dataset_info(data).get("kind") == "demo"
    except (DatabaseError, SQLAlchemyError):
        demo = False
    if not demo:
        print("No account yet: create the first administrator with `python -m dashboard users add NAME --role admin`")
        return 0
    password = secrets.token_urlsafe(12)
    accounts.add_user(engine, "admin", "admin", password, display_name="Admin (demo)")
    audit("user_change", "admin", change="add", role="admin", scope="whole city", first_admin=True)
    print(
        "No account yet on this demo database: created the administrator account (shown only now)\n"
        f"    name: admin\n    password: {password}\n"
        "Change it with `python -m dashboard users set-password admin`; add others with `users add`."
    )
    return 0


def _kiosk(args: argparse.Namespace, engine, kiosk_tokens, audit) -> int:
    if args.token_action == "add":
        token = kiosk_tokens.add_kiosk_token(engine, args.label, created_by="cli")
        audit("kiosk_token", kiosk_tokens.normalise_name(args.label), change="add")
        print(token)
        print(
            f"kiosk token {kiosk_tokens.normalise_name(args.label)} made; open the wall at /wall?token={token} "
            "(shown only now: keep it on the wall PC)",
            file=sys.stderr,
        )
    elif args.token_action == "list":
        tokens = kiosk_tokens.list_kiosk_tokens(engine)
        rows = [[r["label"], _when(r["created_at"]), _when(r["last_used_at"]), _when(r["revoked_at"])] for r in tokens]
        _print_table(rows, ["label", "made", "last used", "revoked"])
        print(f"{len(tokens)} kiosk tokens")
    else:
        kiosk_tokens.revoke_kiosk_token(engine, args.label)
        audit("kiosk_token", kiosk_tokens.normalise_name(args.label), change="revoke")
        print(f"kiosk token {kiosk_tokens.normalise_name(args.label)} revoked")
    return 0
