"""Exceptions the state raises; the HTTP layers turn them into Eduframe error bodies."""

from __future__ import annotations


class SimulatorError(Exception):
    """Base: `status` is the HTTP status the API answers with, `errors` the per-field details."""

    status = 400

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotFound(SimulatorError):
    status = 404


class ValidationFailed(SimulatorError):
    status = 422


class InvalidState(SimulatorError):
    """An action the real product refuses in the record's current state (e.g. deleting an open invoice)."""

    status = 422
