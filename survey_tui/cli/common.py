"""What every churn-survey command shares: the shared options, the one error translator, the store and settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from survey_tui.resources import CUSTOMER_QUESTIONNAIRE

if TYPE_CHECKING:
    from survey_tui.settings import Settings
    from survey_tui.store import Disclosure, Store

F = TypeVar("F", bound=Callable[..., Any])

# Exit codes beyond click's 2 for usage errors.
EXIT_PROBLEM = 1
EXIT_EMPTY = 3
EXIT_DATABASE = 4

DB_HELP = "SQLite file or postgresql:// URL [env CHURN_SURVEY_DB; default ./survey.db]."
LANGUAGE_HELP = "For an XLSForm with translations: the language of the labels, e.g. 'Chinese (zh)' or 'zh'."


# -- errors ------------------------------------------------------------------------------------


class Failure(click.ClickException):
    """A user error: printed as `error: message`, no traceback."""

    exit_code = EXIT_PROBLEM

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class NothingToClaim(Failure):
    exit_code = EXIT_EMPTY


class DatabaseUnavailable(Failure):
    exit_code = EXIT_DATABASE


def translate(error: Exception) -> Failure | None:
    """The user error for an error of the library, or None for a bug (which keeps its traceback).

    The one translator of the commands: every error the library raises for a person to act on
    (a file, a questionnaire, the database, the role, a font) is here, with its exit code.
    """
    # Imported here: the command line starts without loading what most commands never use.
    from coding.codebook import CodebookError
    from coding.tables import TableError
    from coding.textio import EncodingError
    from survey_tui.calling.call_list import CallListError
    from survey_tui.model import QuestionnaireError
    from survey_tui.research.errors import ResearchError
    from survey_tui.settings import SettingsError
    from survey_tui.store import StoreError, StoreUnavailable

    if isinstance(error, StoreUnavailable):
        return DatabaseUnavailable(str(error))
    if isinstance(error, QuestionnaireError):
        return Failure(f"the questionnaire has problems:\n{error}")
    if isinstance(error, StoreError | CallListError | SettingsError | CodebookError | TableError | EncodingError):
        return Failure(str(error))
    if isinstance(error, ResearchError):
        return Failure(str(error))
    from coding.pictures import FontError  # loads fontTools: only once something went wrong

    if isinstance(error, FontError):
        return Failure(str(error))
    return None


def user_errors(command: F) -> F:
    """Run the command with the library's errors translated into one-line user errors."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except click.ClickException:
            raise
        except Exception as error:
            failure = translate(error)
            if failure is None:
                raise
            raise failure from error

    return wrapper  # type: ignore[return-value]


# -- shared options ----------------------------------------------------------------------------


def _remember_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(dict)
        ctx.obj["db"] = value


def db_parameter(*, global_: bool = False) -> click.Option:
    """`--db`: on the command line as a whole (which reads CHURN_SURVEY_DB) and, overriding it,
    on every group and command, so that it may come before or after any subcommand."""
    return click.Option(
        ["--db"],
        metavar="PATH_OR_URL",
        envvar="CHURN_SURVEY_DB" if global_ else None,
        expose_value=False,
        callback=_remember_db,
        help=DB_HELP,
    )


def shared_parameters() -> list[click.Parameter]:
    """The options every command and group takes wherever it stands on the line."""
    return [db_parameter()]


class SurveyGroup(click.Group):
    """A command group whose subcommands and subgroups all take the shared options.

    Commands added later (by another module or a plug-in) get them too, so `--db` works after
    every subcommand without each command declaring it.
    """

    group_class = type  # subgroups made with @group.group() are SurveyGroups as well

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        taken = {param.name for param in cmd.params}
        cmd.params.extend(param for param in shared_parameters() if param.name not in taken)
        super().add_command(cmd, name)


def study_options(command: F) -> F:
    """--questionnaire (which study) and --since, --until, --branch, --agent, --version (which of
    its interviews), shared by the research commands; the command is given them as `study` (a
    questionnaire id or file) and `filters` (survey_tui.research.Filters)."""

    @wraps(command)
    def wrapper(
        *args: Any,
        questionnaire: str,
        since: Any,
        until: Any,
        branch: str | None,
        agent: str | None,
        questionnaire_version: str | None,
        **kwargs: Any,
    ) -> Any:
        from survey_tui.research import Filters

        filters = Filters(
            since=since.date() if since else None,
            until=until.date() if until else None,
            branch=branch,
            agent=agent,
            version=questionnaire_version,
        )
        return command(*args, study=questionnaire, filters=filters, **kwargs)

    decorated: Any = wrapper
    for option in reversed(
        [
            click.option(
                "--questionnaire",
                default=CUSTOMER_QUESTIONNAIRE,
                show_default=True,
                metavar="NAME|FILE",
                help="The study: a questionnaire id (every version the store holds) or a questionnaire file.",
            ),
            click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Interviews from this day (YYYY-MM-DD)."),
            click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Interviews up to this day."),
            click.option("--branch", help="Only this branch (支局)."),
            click.option("--agent", help="Only this agent's interviews."),
            click.option("--version", "questionnaire_version", help="Only this questionnaire version."),
        ]
    ):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


# -- the store and the settings ----------------------------------------------------------------


def open_store(ctx: click.Context) -> Store:
    """The store of `--db` (or CHURN_SURVEY_DB, or ./survey.db), closed with the command."""
    from survey_tui.store import Store

    ctx.ensure_object(dict)
    store = Store.open(ctx.obj.get("db"))
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


def settings(ctx: click.Context) -> Settings:
    """The user's settings (role), read once per command."""
    from survey_tui.settings import load_settings

    ctx.ensure_object(dict)
    if "settings" not in ctx.obj:
        ctx.obj["settings"] = load_settings()
    return ctx.obj["settings"]  # type: ignore[no-any-return]


def disclosure(
    ctx: click.Context, command: str, *, permission: bool = True, extra: dict[str, Any] | None = None
) -> Disclosure:
    """Who is about to be given full phone numbers and accounts (the library records it in the
    audit before anything is shown): the role is checked first unless `permission` is False (an
    agent may see the number they are about to dial)."""
    from survey_tui.store import Disclosure

    current = settings(ctx)
    if permission:
        current.require("include_pii")
    return Disclosure.by_this_user(role=current.role, command=command, extra=extra)
