"""The model-wide covariance type: the estimators' ``cov_type`` parameter.

``LogisticRegression(cov_type="cluster")`` (or ``OrdinalLogisticRegression(...)``)
chooses the covariance that every post-estimation method uses when its own ``cov_type``
is None, the default: ``summary``, ``covariance`` (and ``covariance_``), ``conf_int``
(Wald intervals), ``marginal_effects``, ``predict_interval`` and ``wald_test``. An explicit
argument overrides it. ``fit`` checks the choice before fitting, against what the fit
will have: the cluster types need ``clusters=``, HC2 and HC3 the hat values of a binary
fit, and Firth fits have their own two types (docs/inference.md, docs/firth.md).
"""

from __future__ import annotations

from logitkit.firth_estimator import FIRTH_COV_TYPES
from logitkit.inference import CLUSTERED, COV_TYPES, HAT_VALUE_TYPES
from logitkit.messages import plain


class CovTypeMixin:
    """Needs from the estimator: ``cov_type``, ``penalty`` (where it has one) and
    ``_ordered_classes``."""

    def _cov_type(self, cov_type=None) -> str:
        """``cov_type`` as given, or the model's own when None."""
        if cov_type is not None:
            return cov_type
        # (an estimator pickled before the parameter existed has no attribute)
        return getattr(self, "cov_type", "nonrobust")

    def _check_cov_type(self, clusters) -> None:
        """Fit's check of ``self.cov_type`` (``clusters``: fit's cluster labels or None)."""
        cov_type = self.cov_type
        firth = getattr(self, "penalty", None) == "firth"
        if not isinstance(cov_type, str) or cov_type not in COV_TYPES + FIRTH_COV_TYPES:
            raise ValueError(f"cov_type must be one of {COV_TYPES} (or, for penalty='firth' "
                             f"fits, {FIRTH_COV_TYPES}), got {plain(cov_type)!r}")
        if firth and cov_type not in FIRTH_COV_TYPES:
            raise ValueError(f"penalty='firth' fits take cov_type 'nonrobust' (logistf's "
                             "standard errors) or 'fisher' (the inverse Fisher information, "
                             "brglm2's); sandwich types are not defined for the modified "
                             f"score; got cov_type={cov_type!r}")
        if not firth and cov_type not in COV_TYPES:
            raise ValueError(f"cov_type={cov_type!r} (the inverse Fisher information of a "
                             "Firth fit) applies to penalty='firth'; the covariance types of "
                             f"this fit are {COV_TYPES}")
        if cov_type in CLUSTERED and clusters is None:
            raise ValueError(f"cov_type={cov_type!r} needs the cluster labels at fit time: "
                             "fit(X, y, clusters=labels) (lk.logit(..., clusters=column); "
                             "the CLI's --clusters COLUMN), or choose a covariance without "
                             "clusters, e.g. cov_type='HC0'")
        self._check_cov_kind(2)  # (ordinal models: now; multinomial fits: by _family)

    def _check_cov_kind(self, n_classes: int) -> None:
        """HC2 and HC3 need GLM hat values, which binary LogisticRegression fits have and
        multinomial (``n_classes`` > 2) and ordinal fits do not."""
        cov_type = self._cov_type()
        if not (isinstance(cov_type, str) and cov_type in HAT_VALUE_TYPES):
            return
        if getattr(self, "_ordered_classes", False):
            kind = "ordinal models"
        elif n_classes > 2:
            kind = f"multinomial fits (y has {n_classes} classes)"
        else:
            return
        raise ValueError(f"cov_type={cov_type!r} needs GLM hat values, which binary fits "
                         f"have and {kind} do not (R's sandwich defines HC2 and HC3 through "
                         "them): use 'HC0', 'HC1' or 'stata-robust'")
