"""`python -m orderly` is the `orderly` command."""

from orderly.entrypoints.cli import main

main()
