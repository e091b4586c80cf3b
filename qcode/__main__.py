"""``python -m qcode`` runs the command line."""

from .cli import main

main()
