"""The planning API (FastAPI; see docs/api.md). Imports `sanitation`, never the reverse.

``main`` builds the app, ``routes/`` hold endpoints, ``deps`` the dependencies; persistence
(``models``, ``db``, ``keys``, ``scenarios``, ``plans``, ``incidents``, ``jobs``, ``worker``)
never imports FastAPI.
"""
