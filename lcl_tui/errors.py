"""Errors a user can fix. Each carries one line that names the problem and the fix."""


class UserError(Exception):
    """A mistake in what the user asked for; shown as one line, never a traceback."""


class ConfigError(UserError):
    """A config key is unknown, missing or out of range."""


class DataError(UserError):
    """A data file or dataset cannot be used as given."""


class ModelError(UserError):
    """A model name, folder or option cannot be used as given."""


class RunNotFoundError(UserError):
    """A run id or folder does not exist in the runs folder."""


class TrainingFault(Exception):
    """A fault that ends a run with a clear message (NaN loss, out of memory): the run is
    marked failed with it, and the checkpoints saved before it are kept."""
