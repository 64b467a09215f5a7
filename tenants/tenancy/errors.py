"""The errors every state change of a school's records raises.

The changes themselves live in each subject's `operations` module (`tenants.pupils.operations`,
`tenants.photos.operations`, `tenants.roster.operations`, …); each flushes and never commits (the
request, job or command that calls it owns the transaction). Errors are `OperationError` with a
Polish message safe to show to the user (no PESEL, no internal ids)."""

from __future__ import annotations


class OperationError(ValueError):
    """A request the rules refuse; `str(err)` is a Polish message for the user, `code` a stable
    machine-readable name of the rule for API clients."""

    def __init__(self, message: str, code: str = "rule_violation") -> None:
        super().__init__(message)
        self.code = code


class NotFoundError(LookupError):
    """No such object for the current tenant (shown as 404, whether it exists elsewhere or not)."""
