"""The check that a compiled pass gives the NumPy pass's sums (tests/test_compiled_pass.py,
tests/test_compiled_softmax.py)."""

import numpy as np


def assert_same_terms(compiled, numpy_terms, n_params, least_rtol=1e-12, grad_rtol=1e-12,
                      grad_atol=1e-12):
    """``compiled`` and ``numpy_terms``: (loss, grad or None, least row loss) of one pass;
    the gradient's absolute tolerance is ``grad_atol`` times its largest entry."""
    (loss, grad, least), (loss0, grad0, least0) = compiled, numpy_terms
    np.testing.assert_allclose(loss, loss0, rtol=1e-12)
    np.testing.assert_allclose(least, least0, rtol=least_rtol, atol=1e-300)
    if grad0 is None:
        assert grad is None
        return
    assert grad.shape == grad0.shape == (n_params,)
    np.testing.assert_allclose(grad, grad0, rtol=grad_rtol,
                               atol=grad_atol * np.abs(grad0).max())
