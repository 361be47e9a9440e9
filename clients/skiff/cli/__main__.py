"""`python -m skiff.cli`: the same as the `skiff` command."""

from skiff.cli import main

main()
