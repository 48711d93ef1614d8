"""What every churn-survey command shares: user errors with exit codes, and opening the store."""

from __future__ import annotations

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
        from survey_tui.store import StoreError, StoreUnavailable

        try:
            return command(*args, **kwargs)
        except StoreUnavailable as error:
            raise DatabaseUnavailable(str(error)) from error
        except (StoreError, CallListError) as error:
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
