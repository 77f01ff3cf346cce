"""Golden test: the stdout, stderr, exit code and written files of the README's and docs'
CLI commands, recorded in ``expected/`` and compared byte for byte (see ``harness.py``)."""
