"""What the estimators add for links other than the logit and for offsets: the
information the covariance uses, prediction offsets, and the summary's notes about both
(docs/links_offsets.md)."""

from __future__ import annotations

from logitkit.offsets import check_offset, missing_offset_error

_INFORMATION_NOTES = {
    "observed": "Standard errors from the observed information (the Hessian of the "
                "log-likelihood), as Stata's probit and cloglog report them; R's glm "
                "reports the expected information: information=\"expected\".",
    "expected": "Standard errors from the expected (Fisher) information, as R's glm "
                "reports it; Stata's probit and cloglog report the observed "
                "information (information=\"observed\", the default).",
}


class LinkOffsetMixin:
    """Needs from the estimator: ``classes_``, ``_ordered_classes``; ``link`` and
    ``information`` where it has them; sets nothing but reads ``has_offset_``."""

    def _information(self, objective, result):
        """(objective, params, mean Hessian or None): ``inference.collect``'s first
        arguments, whose Hessian is the information the covariance uses: the fit's own
        (observed), or the expected one where the two differ (non-logit binary links)."""
        family = objective.family
        if getattr(self, "information", "observed") == "expected" and hasattr(
                family, "with_information"):
            return (objective.with_family(family.with_information("expected")),
                    result.params, None)
        return objective, result.params, result.hessian

    def _multinomial(self) -> bool:
        return len(self.classes_) > 2 and not self._ordered_classes

    def _offset(self, X, offset, method: str):
        """The checked offset (logitkit.offsets) of the rows of X, or None; an error when
        the fit had an offset and ``offset`` is None."""
        if offset is None:
            if getattr(self, "has_offset_", False):
                raise missing_offset_error(method)
            return None
        return check_offset(offset, X.shape[0], len(self.classes_), self._multinomial())

    def _link_notes(self, cov_type: str) -> list:
        """The summary's notes on the offset and on which information gave the SEs."""
        notes = []
        if getattr(self, "has_offset_", False):
            notes.append("The linear predictor includes an offset (a known term with "
                         "coefficient 1); LL-Null is the intercept-only model's with the "
                         "offset. Predictions need offset=... as well.")
        link = getattr(self, "link", "logit")
        if link != "logit" and len(self.classes_) == 2 and self.inference_ is not None:
            note = _INFORMATION_NOTES[getattr(self, "information", "observed")]
            if cov_type != "nonrobust":
                note = note.replace("Standard errors from", "The sandwich's bread B is")
            notes.append(note)
        return notes
