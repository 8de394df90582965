"""Errors of the miner: why a job could not be run.

They sit under :class:`aitbc.errors.AITBCError` like every error aitbc raises::

    AITBCError
    └── ExecutorError                       the job could not be executed
        ├── InvalidPayloadError (ValueError) the payload is malformed for its job type
        ├── UnsupportedJobTypeError         no executor is loaded for the job type
        └── ExecutionCanceled               the miner stopped the run (shutdown, lease lost)
"""

from __future__ import annotations

from ..errors import AITBCError


class ExecutorError(AITBCError):
    """A job could not be executed; the miner reports it through the fail route."""


class InvalidPayloadError(ExecutorError, ValueError):
    """The payload does not fit the job type; the message says which field and why."""


class UnsupportedJobTypeError(ExecutorError):
    """This miner has no executor for the job's type."""


class ExecutionCanceled(ExecutorError):
    """The run was stopped on purpose before it finished."""
