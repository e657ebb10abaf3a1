"""n_passes_: how many times a fit read X, counted where the objective reads it."""

import numpy as np
import pytest

import logitkit as lk
from logitkit.objective import Objective


@pytest.fixture
def reads(monkeypatch):
    """Every pass of every objective, as (rows read, rows of the full data)."""
    seen = []
    for name in ("loss_terms", "score_products"):
        original = getattr(Objective, name)

        def counted(self, *args, _original=original, **kwargs):
            seen.append((self.n, self.reads.n))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Objective, name, counted)
    return seen


def test_exact_fit_counts_its_passes(spector, reads):
    model = lk.LogisticRegression().fit(spector[["GPA", "TUCE", "PSI"]], spector["GRADE"])
    assert model.n_passes_ == pytest.approx(sum(rows / n for rows, n in reads))
    # Newton's iterations, the final step, and the score pass of inference
    assert model.n_iter_ + 1 <= model.n_passes_ <= model.n_iter_ + 4


def test_sampled_hessians_count_their_fraction_of_the_rows(reads):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60_000, 60))
    y = (X @ rng.normal(size=60) / 8 + rng.logistic(size=60_000) > 0).astype(int)
    model = lk.LogisticRegression(alpha=1e-4).fit(X, y)
    fractions = [rows / n for rows, n in reads]
    assert any(0 < f < 1 for f in fractions)  # Hessians from every 2nd row
    assert model.n_passes_ == pytest.approx(sum(fractions))
    assert model.n_passes_ < model.n_iter_ + 4


def test_minibatch_fit_counts_an_epoch_as_a_pass(spector):
    model = lk.LogisticRegression(solver="adam", epochs=7, learning_rate=0.05,
                                  random_state=0)
    model.fit(spector[["GPA", "TUCE", "PSI"]], spector["GRADE"])
    assert 7 <= model.n_passes_ <= 7 + 4


def test_newton_cg_counts_its_hessian_vector_products(monkeypatch):
    from logitkit.curvature import RowCurvature

    products = []
    original = RowCurvature.times
    monkeypatch.setattr(RowCurvature, "times",
                        lambda self, v: products.append(1) or original(self, v))
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3000, 20))
    y = rng.integers(0, 8, 3000)
    model = lk.LogisticRegression(solver="newton-cg", alpha=1e-3).fit(X, y)
    assert model.n_passes_ >= model.n_iter_ + len(products)
    assert model.n_passes_ <= model.n_iter_ + len(products) + 8
