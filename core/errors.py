"""Exceptions that carry a message fit to show a user as it is."""


class TrainscopeError(Exception):
    """Base class: anything the CLI and the dashboard show as a one-line message."""


class ConfigError(TrainscopeError, ValueError):
    """A setting is out of range or contradicts another; names the field(s)."""

    def __init__(self, field: str, message: str):
        self.field, self.detail = field, message
        super().__init__(f"{field}: {message}")


class DataUnavailableError(TrainscopeError):
    """The dataset cannot be had here (no network, no local files).

    `reason` is the why alone, for a page that gives its own how-to instead of the CLI's.
    """

    def __init__(self, message: str, reason: str | None = None):
        self.reason = reason or message
        super().__init__(message)


class DataFormatError(TrainscopeError, ValueError):
    """A data file exists but is not what it should be (truncated, wrong shape, bad values)."""


class RunNotFoundError(TrainscopeError, KeyError):
    """No run with that id in the run store (or the id is not a valid run id)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "run not found"
