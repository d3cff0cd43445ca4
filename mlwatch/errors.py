"""The error types mlwatch raises; every one carries a one-line message for the user."""

from __future__ import annotations


class MlwatchError(Exception):
    """Base of every error mlwatch raises on purpose."""


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


class PermissionDenied(MlwatchError):
    """The acting user's role does not allow the action."""


class SignoffError(MlwatchError):
    """A sign-off or revocation cannot be recorded as asked."""
