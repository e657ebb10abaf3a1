"""Published Stata results (tests/reference) reproduced by fits on Dask: each data set
as a dask DataFrame of uneven partitions on a LocalCluster of 2 worker processes."""

import pytest

import logitkit as lk
from published import ANES, SPECTOR, UCLA, check_anes96, check_spector, check_ucla

dd = pytest.importorskip("dask.dataframe")


def _partitioned(frame, npartitions=3):
    return dd.from_pandas(frame, npartitions=npartitions, sort=False)


def test_spector_logit_and_stata_robust_on_dask(dask_client, spector, expected):
    df = _partitioned(spector)
    m = lk.LogisticRegression().fit(df[SPECTOR], df["GRADE"])
    check_spector(m, df[SPECTOR], expected)


def test_anes96_mlogit_on_dask(dask_client, anes96, expected):
    df = _partitioned(anes96, 4)
    check_anes96(lk.LogisticRegression().fit(df[ANES], df["PID"]), expected)


def test_ucla_ologit_on_dask(dask_client, ucla, expected):
    df = _partitioned(ucla)
    check_ucla(lk.OrdinalLogisticRegression().fit(df[UCLA], df["apply"]), expected)
