"""The one error the devcluster raises: its message is meant for the user as it is."""


class DevclusterError(RuntimeError):
    """A devcluster step failed; the message says what to do."""
