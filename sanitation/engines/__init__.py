"""Engine choice and verification, one layer above `sanitation.routing` and `sanitation.verify`.

`get_engine` looks an engine up by name (`ENGINES`; `DEFAULT_ENGINE` is the portfolio), `solve`
runs it and verifies the result, and `sanitation.engines.portfolio.PortfolioEngine` runs several
engines side by side and returns the best verified plan. The routing package holds the problem
and solution types and the engines themselves and imports nothing from here.
"""

from sanitation.engines.registry import DEFAULT_ENGINE, ENGINES, get_engine, solve

__all__ = ["DEFAULT_ENGINE", "ENGINES", "get_engine", "solve"]
