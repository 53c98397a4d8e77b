"""Writers of a plan's files: plan.json, GeoJSON and GeoPackage layers, XLSX route sheets, KPI
CSV, map and chart PNGs (`plan_files`), the comparison of scenarios (`compare`), and the atomic
plan folder (`plan_folder.plan_to_folder`: plan, then write). ``io`` imports the plan, never
the reverse."""
