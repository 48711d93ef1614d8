"""The user's settings: the role (agent, supervisor, researcher) from the environment or a TOML file."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROLES = ("agent", "supervisor", "researcher")
ROLE_VAR = "CHURN_SURVEY_ROLE"
SETTINGS_VAR = "CHURN_SURVEY_SETTINGS"
_KEYS = {"role"}

# What each role may do beyond an agent's own calls and interviews.
PERMISSIONS: dict[str, frozenset[str]] = {
    "supervisor_view": frozenset({"supervisor", "researcher"}),
    "review": frozenset({"researcher"}),
    "include_pii": frozenset({"supervisor", "researcher"}),
    "audit": frozenset({"supervisor", "researcher"}),
}
WHAT = {
    "supervisor_view": "the supervisor view",
    "review": "reviewing codes",
    "include_pii": "full phone numbers and accounts (--include-pii)",
    "audit": "the audit of personal data",
}


class SettingsError(Exception):
    """Settings that cannot be used; the message names the file or variable."""


class NotAllowed(SettingsError):
    """The role of the settings does not allow this."""


@dataclass(frozen=True)
class Settings:
    """What the settings say, and where they came from (for messages)."""

    role: str = "agent"
    source: str = "the default"

    def allows(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]

    def require(self, permission: str) -> None:
        """Raise NotAllowed, with how to get the role, unless the role has `permission`."""
        if self.allows(permission):
            return
        allowed = [role for role in ROLES if role in PERMISSIONS[permission]]
        raise NotAllowed(
            f"{WHAT[permission]} needs the role {' or '.join(allowed)}; the role is {self.role} ({self.source}). "
            f'Set role = "{allowed[0]}" in {settings_path()}, or {ROLE_VAR}={allowed[0]}'
        )


def settings_path(environ: Mapping[str, str] | None = None) -> Path:
    """$CHURN_SURVEY_SETTINGS, else settings.toml in the user's config folder (XDG)."""
    environ = os.environ if environ is None else environ
    if environ.get(SETTINGS_VAR):
        return Path(environ[SETTINGS_VAR]).expanduser()
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "churn-survey" / "settings.toml"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """$CHURN_SURVEY_ROLE wins over the file; without either the role is agent."""
    environ = os.environ if environ is None else environ
    path = settings_path(environ)
    settings = Settings()
    if path.is_file():
        settings = _read(path)
    elif environ.get(SETTINGS_VAR):
        raise SettingsError(f"{SETTINGS_VAR} names {path}, which does not exist")
    role = environ.get(ROLE_VAR, "").strip()
    if role:
        settings = Settings(_role(role, ROLE_VAR), ROLE_VAR)
    return settings


def _read(path: Path) -> Settings:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: cannot read the settings ({error})") from error
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: not valid TOML: {error}") from error
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        known = ", ".join(sorted(_KEYS))
        raise SettingsError(f"{path}: unknown setting {', '.join(unknown)}; the settings are: {known}")
    role = data.get("role", "agent")
    if not isinstance(role, str):
        raise SettingsError(f"{path}: role must be text, one of {', '.join(ROLES)}")
    return Settings(_role(role, str(path)), str(path))


def _role(role: str, source: str) -> str:
    if role not in ROLES:
        raise SettingsError(f"{source}: unknown role {role!r}; the roles are {', '.join(ROLES)}")
    return role
