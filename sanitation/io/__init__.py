"""Writers: GeoPackage layers, map PNGs (and, with the chain, plan.json, route sheets, KPIs)."""
