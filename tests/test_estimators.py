"""Properties of the fitted estimators: optimum, invariances, weights, separation."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.special as sc
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

import logitkit as lk


def _data(n=400, d=4, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    B = rng.normal(size=(d, n_classes))
    logits = X @ B + rng.gumbel(size=(n, n_classes))
    return X, np.argmax(logits, axis=1)


def _ordinal_data(n=500, d=3, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    latent = X @ rng.normal(size=d) + rng.logistic(size=n)
    return X, np.digitize(latent, np.quantile(latent, np.linspace(0, 1, n_classes + 1)[1:-1]))


def _penalised_objective(X, y, coef, intercept, alpha):
    """Mean log-loss + alpha/2 ||coef||^2 in scikit-learn's symmetric parametrisation."""
    logits = X @ coef.T + intercept
    if logits.shape[1] == 1:
        logits = np.hstack([np.zeros_like(logits), logits])
    loss = np.mean(sc.logsumexp(logits, axis=1) - logits[np.arange(len(y)), y])
    return loss + 0.5 * alpha * np.sum(coef**2)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_l2_optimum_matches_scikit_learn(n_classes):
    X, y = _data(n_classes=n_classes)
    alpha = 0.05
    ours = lk.LogisticRegression(alpha=alpha).fit(X, y)
    sk = SkLogisticRegression(C=1 / (alpha * len(y)), tol=1e-12, max_iter=10_000).fit(X, y)
    f_ours = _penalised_objective(X, y, ours.coef_, ours.intercept_, alpha)
    f_sk = _penalised_objective(X, y, sk.coef_, sk.intercept_, alpha)
    assert f_ours == pytest.approx(ours.result_.objective_value, rel=1e-12)
    assert f_ours <= f_sk * (1 + 1e-12)
    assert f_ours == pytest.approx(f_sk, rel=1e-9)
    np.testing.assert_allclose(ours.coef_, sk.coef_, atol=1e-5)


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
@pytest.mark.parametrize("kind", ["binomial", "multinomial", "ordinal"])
def test_badly_scaled_features_converge_without_warnings(kind, solver):
    if kind == "ordinal":
        X, y = _ordinal_data(n=2000, d=5)
        make = lambda: lk.OrdinalLogisticRegression(solver=solver, max_iter=1000)  # noqa: E731
    else:
        X, y = _data(n=2000, d=5, n_classes=2 if kind == "binomial" else 3)
        make = lambda: lk.LogisticRegression(solver=solver, max_iter=1000)  # noqa: E731
    scales = np.array([1e-3, 1e-1, 1.0, 1e2, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaled = make().fit(X * scales + 5 * scales, y)
    reference = make().fit(X, y)
    assert scaled.converged_
    np.testing.assert_allclose(scaled.coef_ * scales, reference.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(scaled.predict_proba(X * scales + 5 * scales),
                               reference.predict_proba(X), atol=1e-8)


def test_solvers_reach_the_same_optimum():
    X, y = _data(n_classes=3, seed=3)
    newton = lk.LogisticRegression(solver="newton").fit(X, y)
    lbfgs = lk.LogisticRegression(solver="lbfgs", max_iter=1000).fit(X, y)
    np.testing.assert_allclose(newton.coef_, lbfgs.coef_, atol=1e-6)
    assert newton.result_.objective_value == pytest.approx(lbfgs.result_.objective_value,
                                                           rel=1e-12)


@pytest.mark.parametrize("kind", ["binomial", "multinomial", "ordinal"])
def test_frequency_weights_equal_repeated_rows(kind):
    if kind == "ordinal":
        X, y = _ordinal_data(n=200)
        make = lk.OrdinalLogisticRegression
    else:
        X, y = _data(n=200, n_classes=2 if kind == "binomial" else 3)
        make = lk.LogisticRegression
    counts = np.random.default_rng(1).integers(0, 4, size=len(y))
    weighted = make().fit(X, y, sample_weight=counts)
    repeated = make().fit(np.repeat(X, counts, axis=0), np.repeat(y, counts))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-7, atol=1e-9)
    assert weighted.result_.log_likelihood == pytest.approx(repeated.result_.log_likelihood,
                                                            rel=1e-10)
    assert weighted.result_.n_obs == counts.sum()


def test_class_weight_balanced_equals_sample_weights():
    X, y = _data(n=300, n_classes=3, seed=4)
    counts = np.bincount(y)
    balanced = lk.LogisticRegression(class_weight="balanced").fit(X, y)
    manual = lk.LogisticRegression().fit(X, y, sample_weight=len(y) / (3 * counts[y]))
    np.testing.assert_allclose(balanced.coef_, manual.coef_, atol=1e-9)
    as_dict = lk.LogisticRegression(class_weight={0: 2.0, 1: 1.0, 2: 1.0}).fit(X, y)
    manual = lk.LogisticRegression().fit(X, y, sample_weight=np.where(y == 0, 2.0, 1.0))
    np.testing.assert_allclose(as_dict.coef_, manual.coef_, atol=1e-9)


def test_relabelling_classes_permutes_probabilities():
    X, y = _data(n=300, n_classes=3, seed=5)
    names = np.array(["cherry", "apple", "banana"])  # sorted order: apple, banana, cherry
    m = lk.LogisticRegression().fit(X, y)
    relabelled = lk.LogisticRegression().fit(X, names[y])
    assert list(relabelled.classes_) == ["apple", "banana", "cherry"]
    np.testing.assert_allclose(relabelled.predict_proba(X), m.predict_proba(X)[:, [1, 2, 0]],
                               atol=1e-9)
    np.testing.assert_array_equal(relabelled.predict(X), names[m.predict(X)])


def test_reversing_ordinal_order_flips_signs():
    X, y = _ordinal_data(n=300)
    m = lk.OrdinalLogisticRegression().fit(X, y)
    reversed_ = lk.OrdinalLogisticRegression().fit(X, pd.Categorical(y, categories=[3, 2, 1, 0]))
    np.testing.assert_allclose(reversed_.coef_, -m.coef_, atol=1e-8)
    np.testing.assert_allclose(reversed_.thresholds_, -m.thresholds_[::-1], atol=1e-8)
    np.testing.assert_allclose(reversed_.predict_proba(X), m.predict_proba(X)[:, ::-1],
                               atol=1e-9)


@pytest.mark.parametrize("make", [lk.LogisticRegression, lk.OrdinalLogisticRegression])
def test_rescaling_a_feature_leaves_predictions_unchanged(make):
    X, y = _ordinal_data(n=300)
    m = make().fit(X, y)
    X2 = X.copy()
    X2[:, 1] *= 1e4
    m2 = make().fit(X2, y)
    np.testing.assert_allclose(m2.predict_proba(X2), m.predict_proba(X), atol=1e-10)


def test_categorical_target_fixes_class_order_and_base():
    X, y = _data(n=300, n_classes=3, seed=6)
    labels = np.array(["low", "mid", "high"])[y]
    m = lk.LogisticRegression().fit(X, pd.Categorical(labels, categories=["mid", "low", "high"]))
    assert list(m.classes_) == ["mid", "low", "high"]
    plain = lk.LogisticRegression().fit(X, labels)
    order = [list(plain.classes_).index(c) for c in m.classes_]
    np.testing.assert_allclose(m.predict_proba(X), plain.predict_proba(X)[:, order], atol=1e-9)


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_ordinal_links_fit_and_keep_cut_points_increasing(link):
    X, y = _ordinal_data(n=400, n_classes=5)
    m = lk.OrdinalLogisticRegression(link=link).fit(X, y)
    assert m.converged_
    assert np.all(np.diff(m.thresholds_) > 0)
    np.testing.assert_allclose(m.predict_proba(X).sum(axis=1), 1.0)
    assert m.score(X, y) > 0.4


def test_perfect_separation_warns_names_the_feature_and_stays_finite():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(100, 3))
    y = (X[:, 1] > 0).astype(int)
    with pytest.warns(lk.PerfectSeparationWarning, match=r"completely separated by x1"):
        m = lk.LogisticRegression().fit(X, y)
    assert np.all(np.isfinite(m.coef_)) and m.separation_.complete
    assert m.score(X, y) == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ridge = lk.LogisticRegression(alpha=0.01).fit(X, y)
    assert ridge.separation_ is None


def test_quasi_separation_in_a_dummy_column():
    rng = np.random.default_rng(8)
    x = rng.normal(size=200)
    dummy = (rng.uniform(size=200) < 0.2).astype(float)
    y = np.where(dummy == 1, 1, (x + rng.logistic(size=200) > 0).astype(int))
    frame = pd.DataFrame({"x": x, "flag": dummy})
    with pytest.warns(lk.PerfectSeparationWarning, match=r"quasi-completely separated by flag"):
        m = lk.LogisticRegression().fit(frame, y)
    assert np.all(np.isfinite(m.coef_))


def test_non_convergence_warns_with_the_reason():
    X, y = _data(n=300, n_classes=3)
    with pytest.warns(lk.ConvergenceWarning, match=r"did not converge.*max \|gradient\|"):
        m = lk.LogisticRegression(solver="lbfgs", max_iter=2).fit(X, y)
    assert not m.converged_ and m.n_iter_ == 2


def test_separation_on_data_too_large_for_the_linear_program_still_warns(monkeypatch):
    from logitkit import diagnosis

    monkeypatch.setattr(diagnosis, "_SEPARATION_LP_MAX", 10)
    rng = np.random.default_rng(9)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(lk.PerfectSeparationWarning, match="may be separated"):
        m = lk.LogisticRegression().fit(X, y)
    assert m.separation_ is None and np.all(np.isfinite(m.coef_))
    assert "possible (too large to check)" in str(m.summary())
