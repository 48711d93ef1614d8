"""What every churn-survey command shares: user errors with exit codes, and opening the store."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# Exit codes beyond click's 2 for usage errors.
EXIT_PROBLEM = 1
EXIT_EMPTY = 3
EXIT_DATABASE = 4


class Failure(click.ClickException):
    """A user error: printed as `error: message`, no traceback."""

    exit_code = EXIT_PROBLEM

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class NothingToClaim(Failure):
    exit_code = EXIT_EMPTY


class DatabaseUnavailable(Failure):
    exit_code = EXIT_DATABASE


def user_errors(command: F) -> F:
    """Translate the library's errors into Failure with the right exit code."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from survey_tui.call_list import CallListError
        from survey_tui.model import QuestionnaireError
        from survey_tui.settings import SettingsError
        from survey_tui.store import StoreError, StoreUnavailable

        try:
            return command(*args, **kwargs)
        except StoreUnavailable as error:
            raise DatabaseUnavailable(str(error)) from error
        except (StoreError, CallListError, SettingsError) as error:
            raise Failure(str(error)) from error
        except QuestionnaireError as error:
            raise Failure(f"the questionnaire has problems:\n{error}") from error

    return wrapper  # type: ignore[return-value]


def open_store(ctx: click.Context) -> Any:
    from survey_tui.store import Store

    store = Store.open(ctx.obj["db"])
    ctx.call_on_close(store.close)
    if store.upgraded_from is not None:
        click.echo(
            f"note: upgraded {store.location} from schema {store.upgraded_from}; "
            "a copy of the old file was kept beside it"
            if store.is_sqlite
            else f"note: upgraded {store.location} from schema {store.upgraded_from}",
            err=True,
        )
    return store


def db_option(command: F) -> F:
    """`--db` on a subcommand too (`churn-survey code --db URL`), overriding the global one."""

    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.ensure_object(dict)
            ctx.obj["db"] = value

    return click.option(
        "--db",
        metavar="PATH_OR_URL",
        expose_value=False,
        callback=remember,
        help="SQLite file or postgresql:// URL (overrides the global --db).",
    )(command)


def settings(ctx: click.Context) -> Any:
    """The user's settings (role), read once per command."""
    from survey_tui.settings import load_settings

    ctx.ensure_object(dict)
    if "settings" not in ctx.obj:
        ctx.obj["settings"] = load_settings()
    return ctx.obj["settings"]


def disclose_pii(
    ctx: click.Context, store: Any, command: str, what: dict[str, Any], *, permission: bool = True
) -> None:
    """Check the role (unless `permission` is False) and record in the store's audit that full
    phone numbers and accounts are about to leave it; nothing is shown or written if this fails."""
    import getpass
    import socket

    current = settings(ctx)
    if permission:
        current.require("include_pii")
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container): the number still says who
        user = f"uid {os.getuid()}"
    store.record_pii_disclosure(user=user, role=current.role, host=socket.gethostname(), command=command, what=what)
