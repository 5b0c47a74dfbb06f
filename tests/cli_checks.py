"""What every model command line's tests check about its errors: one line on stderr."""

import pytest


def one_error_line(capsys) -> str:
    """The error the command just printed, checked to be one line starting with 'error: '."""
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1, error
    return error


def usage_error(main, argv: list[str], capsys) -> str:
    """The one line argparse printed when `main(argv)` refused its arguments (exit status 2)."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    return error
