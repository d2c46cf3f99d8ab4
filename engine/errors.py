"""User-facing errors. Each carries a one-line reason that the CLI prints as is."""


class AutoSpikformerError(ValueError):
    """Base class: bad input from a user (a file, an argument, a name)."""


class SpaceError(AutoSpikformerError):
    """A malformed search space or architecture."""


class DatasetError(AutoSpikformerError):
    """A dataset that is unknown or missing from disk."""


class CheckpointError(AutoSpikformerError):
    """A checkpoint that is missing, corrupt or does not match."""


class SearchError(AutoSpikformerError):
    """A search that cannot run as configured (bad alpha, impossible constraint, bad state)."""
