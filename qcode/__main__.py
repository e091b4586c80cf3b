"""``python -m qcode`` runs the command line."""

from .cli import main

if __name__ == "__main__":  # not again in the worker processes a local Dask cluster spawns
    main()
