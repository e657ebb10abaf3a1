"""LogisticRegressionCV / OrdinalLogisticRegressionCV: the choice equals a hand-written loop
over the same folds, the 1se rule, the refit equals a plain fit, scikit-learn's checks."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.metrics import get_scorer  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import logitkit as lk  # noqa: E402
from logitkit.cv import choose, neg_log_loss  # noqa: E402
from logitkit.paths import regularization_path  # noqa: E402
from logitkit.plots import plot_cv  # noqa: E402

N_ALPHAS = 10


def _data(kind, n=150, seed=0):
    """(X (n, 6), y): 3 informative columns, 3 noise columns."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    eta = X @ np.array([1.5, -1.0, 0.6, 0.0, 0.0, 0.0])
    if kind == "binary":
        return X, (eta + rng.logistic(size=n) > 0).astype(int)
    if kind == "ordinal":
        return X, np.digitize(eta + rng.logistic(size=n), [-1.0, 1.0])
    scores = np.column_stack([np.zeros(n), eta, X[:, 3] - X[:, 1]])
    return X, np.argmax(scores + rng.gumbel(size=(n, 3)), axis=1)


def _estimator(kind):
    return lk.OrdinalLogisticRegression() if kind == "ordinal" else lk.LogisticRegression()


def _cv(kind, **params):
    cls = lk.OrdinalLogisticRegressionCV if kind == "ordinal" else lk.LogisticRegressionCV
    return cls(n_alphas=N_ALPHAS, cv=4, random_state=0, **params)


def _loop(kind, X, y, ratios, weights=None, folds=4, scoring="neg_log_loss"):
    """Held-out scores {l1_ratio: (folds, alphas)} of independent fits at each alpha of
    the grid of the path on all rows, on StratifiedKFold(shuffle=True, random_state=0)."""
    scorer = get_scorer(scoring)
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y))
    grids, scores = {}, {}
    for r in ratios:
        grids[r] = regularization_path(X, y, estimator=_estimator(kind), l1_ratio=r,
                                          n_alphas=N_ALPHAS, sample_weight=weights).alphas_
        table = np.empty((folds, len(grids[r])))
        for f, (train, test) in enumerate(splits):
            for i, alpha in enumerate(grids[r]):
                model = clone(_estimator(kind)).set_params(alpha=alpha, l1_ratio=r).fit(
                    X[train], y[train], sample_weight=None if weights is None else
                    weights[train])
                table[f, i] = (scorer(model, X[test], y[test]) if weights is None else
                               scorer(model, X[test], y[test], sample_weight=weights[test]))
        scores[r] = table
    return grids, scores


@pytest.mark.parametrize(("kind", "ratios", "weighted"), [
    ("binary", (0.5, 1.0), False),
    ("binary", (0.0,), True),
    ("multinomial", (1.0,), False),
    ("ordinal", (1.0, 0.0), True),
])
def test_choice_equals_a_hand_written_loop(kind, ratios, weighted):
    X, y = _data(kind)
    weights = np.random.default_rng(1).integers(1, 4, size=len(y)).astype(float) \
        if weighted else None
    grids, scores = _loop(kind, X, y, ratios, weights)
    fitted = {rule: _cv(kind, l1_ratios=list(ratios), rule=rule).fit(X, y, weights)
              for rule in ("min", "1se")}
    cv = fitted["min"]
    results = cv.cv_results_
    assert list(results["l1_ratio"]) == [r for r in ratios for _ in grids[r]]
    np.testing.assert_array_equal(results["alpha"], np.concatenate([grids[r] for r in ratios]))
    split = np.vstack([scores[r].T for r in ratios])  # (rows, folds)
    np.testing.assert_allclose(results[[f"split{f}_score" for f in range(4)]], split,
                               rtol=1e-6)
    np.testing.assert_allclose(results["mean_score"], split.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(results["se_score"], split.std(axis=1, ddof=1) / 2, rtol=1e-4)
    # min: the best mean over every (l1_ratio, alpha)
    means = split.mean(axis=1)
    best = int(np.argmax(means))
    assert cv.best_index_ == best
    assert (cv.l1_ratio_, cv.alpha_) == (results["l1_ratio"][best], results["alpha"][best])
    assert cv.best_score_ == pytest.approx(means[best], rel=1e-6)
    # 1se: the largest alpha of the best l1_ratio within one standard error of the best
    se = split[best].std(ddof=1) / 2
    same = (results["l1_ratio"] == results["l1_ratio"][best]).to_numpy()
    within = same & (means >= means[best] - se)
    one_se = fitted["1se"]
    assert one_se.l1_ratio_ == cv.l1_ratio_
    assert one_se.alpha_ == results["alpha"][within].max() >= cv.alpha_
    assert one_se.alpha_ == one_se.cv_results_["alpha"][one_se.best_index_]


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
def test_neg_log_loss_is_scikit_learns(kind):
    X, y = _data(kind)
    model = clone(_estimator(kind)).set_params(alpha=0.01, l1_ratio=1.0).fit(X, y)
    weights = np.random.default_rng(3).uniform(0, 2, size=len(y))
    scorer = get_scorer("neg_log_loss")
    for w in (None, weights):
        expected = scorer(model, X, y) if w is None else scorer(model, X, y, sample_weight=w)
        assert neg_log_loss(model, X, y, w) == pytest.approx(expected, rel=1e-14)


def test_neg_log_loss_follows_the_class_order():
    # scikit-learn's log_loss sorts the labels, so its scorer pairs the columns of an
    # ordinal model whose classes_ are not sorted with the wrong classes; ours does not
    X, y = _data("ordinal")
    labels = pd.Series(pd.Categorical(np.array(["low", "mid", "high"])[y],
                                      categories=["low", "mid", "high"], ordered=True))
    named = lk.OrdinalLogisticRegression(alpha=0.01, l1_ratio=1.0).fit(X, labels)
    coded = lk.OrdinalLogisticRegression(alpha=0.01, l1_ratio=1.0).fit(X, y)
    assert neg_log_loss(named, X, labels) == pytest.approx(neg_log_loss(coded, X, y),
                                                           rel=1e-12)
    assert get_scorer("neg_log_loss")(named, X, labels) != pytest.approx(
        neg_log_loss(named, X, labels), rel=1e-3)


def test_choose_rules_and_ties():
    alphas = [np.array([4.0, 2.0, 1.0, 0.5]), np.array([8.0, 4.0, 2.0])]
    means = [np.array([-0.9, -0.6, -0.5, -0.55]), np.array([-0.8, -0.5, np.nan])]
    ses = [np.full(4, 0.12), np.full(3, 0.05)]
    # a tie of the best mean: the first l1_ratio given; NaN is never chosen
    assert choose(means, ses, alphas, "min") == (0, 2)
    # 1se along the chosen l1_ratio: -0.6 >= -0.5 - 0.12 at alpha 2 (not -0.8 of the other)
    assert choose(means, ses, alphas, "1se") == (0, 1)
    # grids in any order: the largest qualifying alpha
    assert choose([means[0][::-1]], [ses[0]], [alphas[0][::-1]], "1se") == (0, 2)
    # ties within one l1_ratio: the largest alpha
    assert choose([np.array([-1.0, -0.5, -0.5])], [np.zeros(3)], [np.array([3.0, 2, 1])],
                  "min") == (0, 1)
    with pytest.raises(ValueError, match="every held-out score is NaN"):
        choose([np.full(2, np.nan)], [np.zeros(2)], [np.ones(2)], "min")
    with pytest.raises(ValueError, match="one fold"):
        choose([np.zeros(2)], [np.full(2, np.nan)], [np.array([2.0, 1])], "1se")


def test_refit_equals_a_plain_fit_and_the_cv_behaves_as_it(tmp_path):
    X, y = _data("multinomial")
    frame = pd.DataFrame(X[:, :4], columns=["a", "b", "c", "d"]).assign(
        colour=np.random.default_rng(2).choice(["red", "green", "blue"], size=len(y)))
    cv = _cv("multinomial", l1_ratios=[0.5, 1.0], rule="1se").fit(frame, y)
    plain = lk.LogisticRegression(alpha=cv.alpha_, l1_ratio=cv.l1_ratio_).fit(frame, y)
    np.testing.assert_array_equal(cv.coef_, plain.coef_)
    np.testing.assert_array_equal(cv.intercept_, plain.intercept_)
    assert cv.coef_names_ == plain.coef_names_ == ["a", "b", "c", "d", "colour[green]",
                                                    "colour[red]"]
    assert list(cv.feature_names_in_) == ["a", "b", "c", "d", "colour"]
    np.testing.assert_array_equal(cv.classes_, plain.classes_)
    np.testing.assert_array_equal(cv.predict_proba(frame), plain.predict_proba(frame))
    np.testing.assert_array_equal(cv.predict(frame), plain.predict(frame))
    np.testing.assert_array_equal(cv.decision_function(frame), plain.decision_function(frame))
    assert str(cv.summary()) == str(plain.summary())
    assert cv.log_likelihood_ == plain.log_likelihood_
    assert cv.score(frame, y) == plain.score(frame, y)
    cv.save(tmp_path / "model.lkm")
    loaded = lk.load(tmp_path / "model.lkm")
    assert type(loaded) is lk.LogisticRegression
    assert loaded.get_params()["alpha"] == cv.alpha_
    np.testing.assert_array_equal(loaded.predict_proba(frame), plain.predict_proba(frame))


def test_refit_false_keeps_only_the_choice():
    X, y = _data("ordinal")
    cv = _cv("ordinal", l1_ratios=[1.0], refit=False).fit(X, y)
    assert cv.alpha_ > 0 and cv.l1_ratio_ == 1.0 and len(cv.cv_results_) == N_ALPHAS
    np.testing.assert_array_equal(cv.classes_, [0, 1, 2])
    with pytest.raises(NotFittedError, match="refit=False"):
        cv.predict(X)
    with pytest.raises(AttributeError):
        cv.coef_  # noqa: B018


def test_scoring_splitter_and_groups():
    X, y = _data("binary")
    cv = lk.LogisticRegressionCV(l1_ratios=0.5, n_alphas=6, cv=KFold(3), scoring="roc_auc"
                                 ).fit(X, y)
    assert cv.n_splits_ == 3 and "split2_score" in cv.cv_results_
    assert ((cv.cv_results_["mean_score"] > 0.5) & (cv.cv_results_["mean_score"] <= 1)).all()
    grid = np.array([0.2, 0.02, 0.002])
    from sklearn.model_selection import GroupKFold

    grouped = lk.LogisticRegressionCV(l1_ratios=[1.0], alphas=grid, cv=GroupKFold(3)).fit(
        X, y, groups=np.arange(len(y)) % 5)
    np.testing.assert_array_equal(grouped.cv_results_["alpha"], grid)


@pytest.mark.parametrize(("params", "match"), [
    ({"l1_ratios": []}, "l1_ratios must be a non-empty list"),
    ({"l1_ratios": [0.5, 1.5]}, r"numbers in \[0, 1\]"),
    ({"l1_ratios": [1.0, 1]}, "repeated"),
    ({"rule": "max"}, "rule must be one of"),
    ({"cv": 1}, "at least 2 folds"),
    ({"n_alphas": 0}, "n_alphas must be an integer >= 1"),
    ({"alphas": [0.1, -1]}, "alphas must be a non-empty list"),
    ({"solver": "adam"}, "leave it at 'auto'"),
    ({"alphas": [0.1, 0.0]}, "alphas must be a non-empty list"),
    ({"scoring": 3}, "scoring must be None"),
    ({"refit": "yes"}, "refit must be True or False"),
])
def test_bad_parameters(params, match):
    X, y = _data("binary", n=40)
    with pytest.raises(ValueError, match=match):
        lk.LogisticRegressionCV(**params).fit(X, y)


def test_a_class_too_rare_for_the_folds():
    X, y = _data("multinomial", n=60)
    y[y == 2] = 1
    y[0] = 2  # one row of class 2: some training part lacks it
    with pytest.raises(ValueError, match="the class 2 has a single row"):
        _cv("multinomial", l1_ratios=[1.0]).fit(X, y)
    # a splitter of its own: the training part without the class is named
    folds = [(np.arange(0, 40), np.arange(40, 60)), (np.arange(20, 60), np.arange(0, 20))]
    with pytest.raises(ValueError, match=r"fold 1 hold no row of the class\(es\) \[2\]"):
        _cv("multinomial", l1_ratios=[1.0]).set_params(cv=folds).fit(X, y)


def test_unconverged_fold_fits_warn_once():
    X, y = _data("binary")
    with pytest.warns(lk.ConvergenceWarning) as caught:
        cv = _cv("binary", l1_ratios=[1.0], max_iter=1).fit(X, y)
    told = [w for w in caught if "fold fits did not converge" in str(w.message)]
    assert len(told) == 1
    failed = cv.cv_results_["n_unconverged"]
    assert str(told[0].message).startswith(f"{failed.sum()} of {4 * N_ALPHAS} fold fits")
    assert failed.max() <= 4 and failed.sum() > 0


def test_plot_cv():
    X, y = _data("binary")
    cv = _cv("binary", l1_ratios=[0.5, 1.0], rule="1se").fit(X, y)
    ax = plot_cv(cv)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["l1_ratio = 0.5", "l1_ratio = 1"]
    assert labels[2].startswith("chosen (1se): alpha = ")
    assert labels[3].startswith("best mean: alpha = ")
    assert ax.xaxis_inverted() and ax.get_xlabel() == "log10(alpha)"
    star = [line for line in ax.get_lines() if line.get_marker() == "*"][0]
    assert star.get_xdata()[0] == np.log10(cv.alpha_)
    assert star.get_ydata()[0] == cv.best_score_
    plt.close("all")


# Folds split rows: a row of weight 2 and two copies of it can fall in different folds,
# so the choice (and hence the refit) can differ (scikit-learn's own LogisticRegressionCV
# fails check_sample_weight_equivalence for this reason); at the checks' data both CV
# estimators choose the same alpha either way, so the checks run and pass.
# As for OrdinalLogisticRegression (test_sklearn_compat.py): the check's three blobs are
# not ordered along a direction of X.
_ORDINAL_CV_EXPECTED = {"check_classifiers_train": "blobs violate proportional odds"}


@parametrize_with_checks(
    [lk.LogisticRegressionCV(n_alphas=4, cv=3), lk.OrdinalLogisticRegressionCV(n_alphas=4, cv=3)],
    expected_failed_checks=lambda e: (_ORDINAL_CV_EXPECTED if isinstance(
        e, lk.OrdinalLogisticRegressionCV) else {}),
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
