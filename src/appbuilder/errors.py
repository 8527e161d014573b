"""One exception tree for the whole platform.

Services raise these; the web, CLI and job layers translate them once, at their boundary.
No HTTP status codes live here: each error carries a stable ``code`` and the context a
caller needs in ``details``, and a message written for the person who has to act on it.
"""

from __future__ import annotations

from typing import Any


class AppBuilderError(Exception):
    """Root of every error the platform raises on purpose."""

    code = "error"
    #: True for errors raised after recording the attempt itself (a failed password check):
    #: the request's transaction commits what was written instead of rolling it back.
    keep_writes = False

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigurationError(AppBuilderError):
    """The process cannot run with the settings it was given."""

    code = "configuration_error"


class ValidationError(AppBuilderError):
    """Input broke a rule; ``field`` and ``rule`` say which."""

    code = "validation_error"

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message, field=field, rule=rule)
        self.field = field
        self.rule = rule


class SpecError(ValidationError):
    """An AppSpec broke one or more rules; ``problems`` lists each as (path, rule, message).

    All problems are collected before raising, so a user fixes a spec in one pass.
    """

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        path, rule, _ = problems[0]
        lines = "\n".join(f"  {p}: {message} [{r}]" for p, r, message in problems)
        count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
        super().__init__(path, rule, f"The app spec has {count}:\n{lines}")
        self.problems = problems
        self.details["problems"] = [
            {"path": p, "rule": r, "message": message} for p, r, message in problems
        ]


class NotFoundError(AppBuilderError):
    """The row does not exist, or the caller may not know that it does."""

    code = "not_found"

    def __init__(self, entity: str, entity_id: str) -> None:
        super().__init__(f"{entity} {entity_id!r} was not found.", entity=entity, id=entity_id)
        self.entity = entity
        self.entity_id = entity_id


class ConflictError(AppBuilderError):
    """The request is valid but clashes with the current state of the data."""

    code = "conflict"


class PushRejectedError(ConflictError):
    """The remote has commits the project's history lacks: nothing was overwritten."""

    code = "push_rejected"


class RefusedError(AppBuilderError):
    """An operation that is refused on purpose, for example a destructive one in production."""

    code = "refused"


class MigrationError(AppBuilderError):
    """A schema change failed or would leave the data inconsistent; nothing was changed."""

    code = "migration_error"


class ExternalToolError(AppBuilderError):
    """A program we run (pg_dump, psql, git ...) is missing or failed."""

    code = "external_tool_error"


class PushFailedError(ExternalToolError):
    """A git remote could not be reached or refused us (not a divergence); the message is
    masked (no token, no credentials) and says what to check."""

    code = "push_failed"


class ModelNotConfiguredError(AppBuilderError):
    """A step needs a language model and none is configured; the message names the setting."""

    code = "model_not_configured"


class ModelCallError(ExternalToolError):
    """A language model call failed (provider error, timeout, an answer off its schema).

    ``records`` holds the calls made before the failure (``llm.CallRecord``s, typed
    loosely as this module sits below them), so their tokens are accounted for too.
    """

    code = "model_call_failed"

    def __init__(self, message: str, records: list[Any] | None = None) -> None:
        super().__init__(message)
        self.records = records or []


class DecryptionError(AppBuilderError):
    """Stored ciphertext could not be decrypted with the configured key."""

    code = "decryption_error"


class AuthenticationError(AppBuilderError):
    """No valid credentials: missing, wrong, expired or revoked."""

    code = "unauthenticated"


class PermissionDeniedError(AppBuilderError):
    """Valid credentials that do not allow this action (a missing scope or role)."""

    code = "forbidden"


class QuotaExceededError(AppBuilderError):
    """A tier limit was reached; ``details`` name the limit, usage and the tier that lifts it."""

    code = "quota_exceeded"


class RunBudgetSpent(QuotaExceededError):  # noqa: N818 - says what happened, like a quota
    """A run's token budget would be passed by its next model call: the run stops there."""

    code = "run_budget_spent"


class ConcurrencyLimitError(QuotaExceededError):
    """Too many runs at once for the plan: try again when one ends (or upgrade)."""

    code = "too_many_runs"


class RateLimitedError(AppBuilderError):
    """Too many attempts; retry after ``retry_after`` seconds."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, **details: object) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class TooManyStreamsError(AppBuilderError):
    """An account holds as many live-progress streams open as one may (``StreamSlots``)."""

    code = "too_many_streams"


class DatabaseBusyError(RateLimitedError):
    """The server's database connections were all taken for longer than its pool waits:
    overloaded, not broken; nothing of the request was saved. Retry after ``retry_after``."""

    code = "database_busy"


class DatabaseUnavailableError(RateLimitedError):
    """The connection to the database was lost during the request, and so was the one it
    was retried on (a read runs again once on a fresh connection). Retry after
    ``retry_after``: a database that restarted is usually back in moments."""

    code = "database_unavailable"


class PlannersBusyError(RateLimitedError):
    """The server gives planning from words a bounded number of threads (each waits for a
    model, often minutes) so that planners never take every thread the other requests run
    on; all were taken. Overloaded, not broken: nothing was asked or saved."""

    code = "planners_busy"


class WrongPasswordError(ValidationError):
    """The password given to confirm an action is wrong; the failure was recorded."""

    keep_writes = True

    def __init__(self, field: str) -> None:
        super().__init__(field, "matches", f"The {field.replace('_', ' ')} is wrong.")


class UnsafePathError(ValidationError):
    """A generated path would leave the output folder or cannot be written portably."""

    def __init__(self, path: str, rule: str, reason: str) -> None:
        super().__init__("path", rule, f"Refusing to write {path!r}: {reason}.")
        self.details["path"] = path
        self.reason = reason


class RunCancelled(AppBuilderError):  # noqa: N818 - a state, not a failure
    """The run was asked to stop; raised at the next step boundary."""

    code = "cancelled"


class GenerationError(AppBuilderError):
    """A run failed; ``records`` holds every step recorded up to the failure (the
    orchestrator's ``StepRecord``s: typed loosely, as this module sits below the agents)."""

    code = "generation_failed"

    def __init__(self, message: str, records: list[Any]) -> None:
        super().__init__(message)
        self.records = records


class BillingNotConfiguredError(AppBuilderError):
    """Billing needs Stripe settings this server does not have; the message names them."""

    code = "billing_not_configured"


class PaymentProviderError(ExternalToolError):
    """Stripe refused or could not be reached; the message says what to try, never a key."""

    code = "payment_provider_error"


class WebhookSignatureError(AppBuilderError):
    """A webhook request is unsigned, wrongly signed or too old to trust: nothing applied."""

    code = "invalid_signature"


class DeployFailed(AppBuilderError):  # noqa: N818 - a state, like RunCancelled
    """A deployment did not become healthy; ``log_tail`` holds the end of its output."""

    code = "deploy_failed"

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message, log_tail=log_tail)
        self.log_tail = log_tail
