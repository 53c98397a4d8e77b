"""sanitation: an urban-rural sanitation logistics optimiser.

Mass is tonnes at the edges and integer kilograms inside solvers; distance metres; time seconds;
money CNY; coordinates WGS-84 lon/lat.
"""

__version__ = "0.1.0"
