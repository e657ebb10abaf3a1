"""Published Stata results (tests/reference) reproduced by fits of the same data held as
scipy.sparse matrices (CSR and CSC), as the dense and Dask fits reproduce them."""

import pytest
import scipy.sparse as sp

import logitkit as lk
from published import ANES, SPECTOR, UCLA, check_anes96, check_spector, check_ucla

FORMATS = [sp.csr_array, sp.csc_matrix]


@pytest.mark.parametrize("form", FORMATS)
def test_spector_logit_and_stata_robust_on_sparse_x(spector, expected, form):
    X = form(spector[SPECTOR].to_numpy())
    check_spector(lk.LogisticRegression().fit(X, spector["GRADE"]), X, expected)


@pytest.mark.parametrize("form", FORMATS)
def test_anes96_mlogit_on_sparse_x(anes96, expected, form):
    X = form(anes96[ANES].to_numpy())
    check_anes96(lk.LogisticRegression().fit(X, anes96["PID"]), expected)


@pytest.mark.parametrize("form", FORMATS)
def test_ucla_ologit_on_sparse_x(ucla, expected, form):
    X = form(ucla[UCLA].to_numpy(dtype=float))
    check_ucla(lk.OrdinalLogisticRegression().fit(X, ucla["apply"]), expected)
