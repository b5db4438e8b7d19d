"""`ebook-analytics users add|list|remove|set-role`: the local dashboard accounts (used when OIDC is not set up)."""

from __future__ import annotations

import argparse
import getpass
import sys

from dashboards.auth.roles import ROLES
from pipelines.errors import UserError


def define_users(users: argparse.ArgumentParser) -> None:
    commands = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="create an account (asks for its password)")
    add.add_argument("email", help="the sign-in email")
    add.add_argument("--role", required=True, metavar="ROLE", help=f"one of: {', '.join(ROLES)}")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=_add)

    commands.add_parser("list", help="show accounts: email, role, created").set_defaults(func=_list)

    remove = commands.add_parser("remove", help="delete an account (and sign out its dashboard sessions)")
    remove.add_argument("email", help="the sign-in email")
    remove.set_defaults(func=_remove)

    set_role = commands.add_parser("set-role", help="change an account's role (signs its dashboard sessions out)")
    set_role.add_argument("email", help="the sign-in email")
    set_role.add_argument("role", metavar="ROLE", help=f"one of: {', '.join(ROLES)}")
    set_role.set_defaults(func=_set_role)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for the password; pipe it in with --password-stdin")
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Repeat the password: "):
        raise UserError("the two passwords differ; run the command again")
    return password


def _add(args: argparse.Namespace) -> int:
    from dashboards.auth.roles import validate_role
    from dashboards.auth.users import add_user, normalize_email

    # Refuse a bad email or role before asking for a password; add_user checks the password.
    normalize_email(args.email)
    validate_role(args.role)
    account = add_user(args.email, args.role, _read_password(args.password_stdin))
    print(f"added {account.email} ({account.role})")
    return 0


def _list(args: argparse.Namespace) -> int:
    from dashboards.auth.users import list_users

    accounts = list_users()
    if not accounts:
        print("no accounts; add one with `ebook-analytics users add EMAIL --role ROLE`")
        return 0
    width = max(len(account.email) for account in accounts)
    print(f"{'email':{width}}  {'role':8}  created")
    for account in accounts:
        print(f"{account.email:{width}}  {account.role:8}  {account.created_at}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from dashboards.auth.users import remove_user

    remove_user(args.email)
    print(f"removed {args.email.strip().lower()}")
    return 0


def _set_role(args: argparse.Namespace) -> int:
    from dashboards.auth.users import set_role

    account = set_role(args.email, args.role)
    print(f"{account.email} is now {account.role}")
    return 0
