"""`python -m errata` runs the command line."""

from errata.cli import main

main()
