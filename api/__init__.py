"""The planning API (FastAPI; see docs/api.md). Imports `sanitation`, never the reverse.

``main`` builds the app, ``routes/`` hold endpoints, ``deps`` the dependencies; persistence
(``models``, ``db``, ``keys``, ``scenarios``, ``plans``, ``incidents``, ``job_state``) and the
job processes (``jobs`` supervises, ``worker`` runs one job) never import FastAPI. ``cli`` is
the ``sanitation`` console command: the library's commands plus ``serve`` and ``keys``.
"""
