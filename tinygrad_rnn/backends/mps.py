"""torch.backends.mps's path: Apple's Metal is not a device here."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
