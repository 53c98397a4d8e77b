"""The planning API (FastAPI). Built in its own issue; imports `sanitation`, never the reverse."""
