"""``python -m sanitation`` runs the library's commands (the ``sanitation`` console script,
`api.cli`, adds the API's ``serve`` and ``keys``)."""

from sanitation.cli import main

main()
