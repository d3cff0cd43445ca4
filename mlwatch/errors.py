"""The error types mlwatch raises; every one carries a one-line message for the user and the data behind it.

Like pandera's ``SchemaError``, an error keeps what it is about as fields (``path``, ``key``,
``run_id``), so a page or a script can act on it without parsing the message.
"""

from __future__ import annotations


class MlwatchError(Exception):
    """Base of every error mlwatch raises on purpose.

    Attributes:
        path: the file or folder concerned (a log file, the config, the state), if any.
        key: the config key concerned (``checks.drift``), if any.
        run_id: the run concerned, if any.
    """

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None, run_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.key = key
        self.run_id = run_id


class InputError(MlwatchError):
    """The raw logs or the requested months cannot be used as given."""


class ConfigError(MlwatchError):
    """The configuration file is unreadable, has an unknown key or a wrong type."""


class StateError(MlwatchError):
    """The state directory or database cannot be read or written."""


class ExportBlocked(MlwatchError):
    """An export was asked for a run whose gate is closed and not signed off."""


class AuthError(MlwatchError):
    """A login failed (the message never says whether the name or the password was wrong)."""


class LoginLocked(AuthError):
    """Too many failed log-ins for a name or from a client lately: wait, nothing was checked."""


class PermissionDenied(MlwatchError):
    """The acting user's role does not allow the action."""


class SignoffError(MlwatchError):
    """A sign-off or revocation cannot be recorded as asked."""
