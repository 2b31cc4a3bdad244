"""Run the `edgerppg` CLI in-process, as the console script would, for tests."""

import pytest

from edgerppg.cli.main import main


def cli(argv) -> int:
    """The exit code of `edgerppg ARGV` (arguments may be paths or numbers)."""
    try:
        main([str(a) for a in argv])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def run(capsys, *argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `edgerppg ARGV`, which must end through SystemExit as the script does."""
    with pytest.raises(SystemExit) as info:
        main(list(map(str, argv)))
    out = capsys.readouterr()
    return info.value.code or 0, out.out, out.err
