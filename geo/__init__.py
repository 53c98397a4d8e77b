"""Road networks, coordinate systems and travel matrices.

`geo` never imports `sanitation` or `api`. Coordinates are WGS-84 lon/lat unless a name says
``gcj02``; lengths are metres and times are seconds.
"""
