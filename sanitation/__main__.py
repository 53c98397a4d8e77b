"""``python -m sanitation`` runs the command line."""

from sanitation.cli import main

main()
