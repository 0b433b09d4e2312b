"""The errors users see: a one-line message plus a hint saying exactly what to do.

Modelled on mkdocs' ``exceptions.py``: every error a user can cause is a ``HugoPosError``
(a ``click.ClickException``), so the CLI prints ``Error: ...`` and ``Hint: ...`` and exits 1
without a traceback. Programming bugs are not HugoPosErrors and keep their traceback.
"""

from __future__ import annotations

import click


class HugoPosError(click.ClickException):
    """A problem the user can fix: ``message`` says what, ``hint`` says how."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def format_message(self) -> str:
        """Return the message, with the hint on its own line when there is one."""
        return f"{self.message}\nHint: {self.hint}" if self.hint else self.message


class ConfigError(HugoPosError):
    """A site file (locations.yaml, pos-mapping.yaml, front matter) is invalid.

    ``problems`` holds every ``FILE: dotted.path: what is wrong`` line found, so one run reports
    them all.
    """

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems), hint)


class ProviderError(HugoPosError):
    """A POS answered with an error that retrying will not fix (bad token, bad request...)."""


class PosUnavailable(ProviderError):
    """A POS could not be reached or kept failing (timeout, 5xx, 429): try again later.

    ``retry_after`` is the number of seconds the POS asked us to wait, when it said so.
    ``ambiguous`` is true when a write may have reached the POS before the failure;
    ``in_flight`` when the POS may even be working on it still (no answer came, or a gateway's
    502-504 did): whoever looks it up must give it time to land first.
    """

    def __init__(self, message: str, hint: str | None = None, *, retry_after: float | None = None,
                 ambiguous: bool = False, in_flight: bool = False) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after
        self.ambiguous = ambiguous
        self.in_flight = ambiguous and in_flight


class OrderRejected(HugoPosError):
    """An order is invalid: ``code`` and ``field`` are the relay's error code and field."""

    def __init__(self, code: str, message: str, field: str | None = None, status: int = 422,
                 extra: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.status = status
        self.extra = extra or {}
