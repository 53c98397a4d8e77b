"""``python -m api`` runs the whole ``sanitation`` command line (as the console script does)."""

from api.cli import main

main()
