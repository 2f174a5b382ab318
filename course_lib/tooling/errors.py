"""The one error the course tooling raises."""


class RunError(RuntimeError):
    """A run that must stop; the message is one line."""
