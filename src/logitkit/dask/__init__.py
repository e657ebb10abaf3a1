"""Fits on Dask collections (issue 13): imported on demand, never by ``import logitkit``."""
