"""Errors the user can act on: their message is shown as is, on one line, instead of a traceback."""


class UserError(Exception):
    """Bad input or an unmet condition the user can fix; the message says what to do."""


class ModelSourceError(UserError):
    """A model folder, hub id or embedded name that cannot be resolved or loaded safely."""


class DeviceError(UserError):
    """A device or dtype the machine cannot provide."""


class OfflineError(UserError):
    """Something needs the internet and the machine is offline."""


class DuplicateModelError(UserError):
    """The same model is already loaded on that device and dtype; the caller decides: reuse or copy."""

    def __init__(self, message: str, existing_key: str) -> None:
        super().__init__(message)
        self.existing_key = existing_key
