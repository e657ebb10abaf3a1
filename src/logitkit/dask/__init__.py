"""Fits on Dask collections (the ``[dask]`` extra; docs/dask.md).

The estimators' ``fit`` takes dask arrays (:mod:`logitkit.dask.arrays` checks and encodes
them) and minimises :class:`logitkit.dask.objective.DaskObjective`, whose passes run on
the active Dask scheduler; :mod:`logitkit.dask.estimator` connects the two. ``import
logitkit`` does not import this package: the estimators import it for Dask input only.
"""
