"""Text summaries stay tables: every row parses back into its numbers, for any magnitude
and any name length, and the header parses back into label/value pairs."""

import re

import numpy as np
import pandas as pd
import pytest

import logitkit as lk
from logitkit.summary import NAME_WIDTH, Summary

COLUMNS = ["coef", "std_err", "z", "p_value", "ci_lower", "ci_upper"]
LABELS = ["coef", "std err", "z", "P>|z|"]
DECIMALS = {"coef": 4, "std_err": 4, "z": 3, "p_value": 3, "ci_lower": 4, "ci_upper": 4}
ROW = re.compile(r"^(?P<name>\S.*?)(?P<cells>(?:\s+[^\s()]+){6})(?:  \((?P<note>[^()]*)\))?$")
SCALES = [1e-6, 1e-3, 1.0, 1e3, 1e6]


def _precision(token: str) -> float:
    """Half a unit in the last printed place of a number token."""
    mantissa, _, exponent = token.partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def _matches(token: str, value) -> bool:
    """Whether a printed token is ``value`` to the token's printed precision."""
    if isinstance(value, (bool, np.bool_)):
        return token == str(bool(value))
    if isinstance(value, str):
        if "..." in token:
            head, _, tail = token.partition("...")
            return value.startswith(head) and value.endswith(tail) and len(value) > len(token)
        return token == value
    value = float(value)
    if token == "--":
        return np.isnan(value)
    if token in ("inf", "-inf"):
        return value == float(token)
    return abs(float(token) - value) <= _precision(token) * (1 + 1e-9) + 1e-300


def _parse(summary: Summary):
    """(header {label: text}, rows [(block, name, [6 tokens], note)], the table lines)."""
    lines = str(summary).split("\n")
    rules = [i for i, line in enumerate(lines) if line and set(line) == {"="}]
    assert len(rules) == 3 and len({len(lines[i]) for i in rules}) == 1
    header_lines = lines[rules[0] + 1:rules[1]]
    head, dashes, *body = lines[rules[1] + 1:rules[2]]
    assert set(dashes) == {"-"}
    # the header: each line holds one or two "label:  value" cells
    items = summary.header
    half = (len(items) + 1) // 2
    assert len(header_lines) == half
    header = {}
    for i, line in enumerate(header_lines):
        left = re.escape(items[i][1])
        pattern = rf"^{left}:\s+(?P<a>\S.*?)"
        if half + i < len(items):
            pattern += rf"\s{{3,}}{re.escape(items[half + i][1])}:\s+(?P<b>\S.*)"
        match = re.match(pattern + "$", line)
        assert match, line
        header[items[i][1]] = match["a"]
        if match.groupdict().get("b") is not None:
            header[items[half + i][1]] = match["b"]
    # the table: numbers end where their column labels end
    ends = []
    for label in LABELS + [None, None]:
        if label is None:  # the interval bounds, "[0.025" and "0.975]"
            match = re.compile(r"\S+").search(head, ends[-1])
            ends.append(match.end())
        else:
            ends.append(head.index(label, ends[-1] if ends else 0) + len(label))
    rows, block = [], None
    for line in body:
        match = ROW.match(line)
        if match is None:  # a multinomial block's heading
            assert isinstance(summary.table.index, pd.MultiIndex), line
            block = line
            continue
        tokens = list(re.finditer(r"[^\s()]+", match["cells"]))
        offset = match.start("cells")
        assert [offset + t.end() for t in tokens] == ends, line
        rows.append((block, match["name"].rstrip(), [t.group() for t in tokens],
                     match["note"]))
    return header, rows


def _check(summary: Summary):
    """Every header value and every table number equals the data to its printed digits."""
    header, rows = _parse(summary)
    for key, label, value in summary.header:
        text = header[label]
        if key.endswith("pvalue") and text != "--":
            assert len(text.partition("e")[0].replace(".", "").lstrip("0")) == 4, text
        assert _matches(text, value), (label, text, value)
    table = summary.to_frame()
    assert len(rows) == len(table)
    names = set()
    for (block, name, tokens, note), (index, row) in zip(rows, table.iterrows(), strict=True):
        term = index[-1] if isinstance(index, tuple) else index
        if isinstance(index, tuple):
            assert block == f"{table.index.names[0] or 'class'} = {index[0]}"
        assert _matches(name, "".join(c if c.isprintable() else "?" for c in term)), name
        names.add((block, name))
        for token, column in zip(tokens, COLUMNS, strict=True):
            assert _matches(token, row[column]), (term, column, token, row[column])
            if token[0].isdigit() or token[0] == "-" and token[1:2].isdigit():
                if "e" not in token:
                    assert len(token.partition(".")[2]) == DECIMALS[column], token
        expected_note = row.get("note", "")
        assert (note or "") == (expected_note if isinstance(expected_note, str) else "")
    assert len(names) == len(rows), "two rows print the same name"
    return rows


def _scaled_data(n=400, seed=0):
    """Five standard-normal columns scaled by 1e-6 .. 1e6, named with 60 characters; a
    binary, a three-class and an ordered three-level target."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, len(SCALES)))
    names = [f"{'a measured quantity with a long name, in units':.<52}"
             f"of {s:.0e}" for s in SCALES]
    assert {len(name) for name in names} == {60}
    X = pd.DataFrame(z * np.array(SCALES), columns=names)
    eta = z @ np.array([1.5, -0.8, 0.3, 0.6, -0.4]) + 0.2
    binary = (eta + rng.logistic(size=n) > 0).astype(int)
    three = np.argmax(np.column_stack([np.zeros(n), eta, -eta]) + rng.gumbel(size=(n, 3)),
                      axis=1)
    ordered = np.digitize(eta + rng.logistic(size=n), [-1.0, 1.0])
    return X, binary, three, ordered


@pytest.fixture(scope="module")
def scaled_fits():
    X, binary, three, ordered = _scaled_data()
    return {
        "binary": lk.LogisticRegression().fit(X, binary),
        "multinomial": lk.LogisticRegression().fit(X, three),
        "ordinal": lk.OrdinalLogisticRegression().fit(X, ordered),
    }


@pytest.mark.parametrize("kind", ["binary", "multinomial", "ordinal"])
@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0"])
def test_summaries_of_scaled_fits_parse_back(scaled_fits, kind, cov_type):
    summary = scaled_fits[kind].summary(cov_type=cov_type)
    rows = _check(summary)
    coefs = [tokens[0] for _, _, tokens, _ in rows]
    assert any("e-0" in t for t in coefs) and any("e+06" in t for t in coefs)
    assert any(re.fullmatch(r"-?\d+\.\d{4}", t) for t in coefs)
    assert max(len(name) for _, name, _, _ in rows) <= NAME_WIDTH
    text = str(summary)
    assert "to_frame() has them in full" in text
    assert all(len(name) == 60 for name in summary.to_frame().index.get_level_values(-1)
               if name.startswith("a measured"))


def _synthetic(index, seed=0, notes=True):
    """A table of the given index: its first two rows hold every extreme (1e-12, 1e12,
    NaN, +-inf, 0, values next to the switch points), the others draws of them."""
    rng = np.random.default_rng(seed)
    values = [1e-12, -1e-12, 1e12, -1e12, np.nan, np.inf, -np.inf, 0.0, 1.5, -1234.56789,
              0.00099, 0.001, 999999.99996, 1e6, 5e-5, -2.5e7]
    table = pd.DataFrame(rng.choice(values, size=(len(index), 6)), index=index,
                         columns=COLUMNS)
    table.iloc[:2] = [[1e-12, -1e-12, 1e12, 0.0004, -1e12, np.inf],
                      [0.0, -np.inf, np.nan, 1.0, 1.5, -1234.56789]][:len(index)]
    if len(index) > 2:
        table.iloc[2:, 3] = rng.choice([0.0, 1e-12, 0.0005, 0.5, 1.0, np.nan], len(index) - 2)
    if notes:
        table["note"] = rng.choice(["", "aliased", "separated"], len(index))
    return table


SYNTHETIC_HEADER = (
    ("dep_variable", "Dep. variable", "y" * 70),
    ("model", "Model", "Logit"),
    ("converged", "Converged", False),
    ("n_obs", "No. observations", 123456789),
    ("log_likelihood", "Log-likelihood", -1e12),
    ("tiny", "A tiny value", 1e-12),
    ("lr_chi2", "LR chi2(7)", np.inf),
    ("lr_pvalue", "Prob > chi2", 1e-300),
    ("other_pvalue", "Another p-value", 0.123456),
    ("aic", "AIC", np.nan),
    ("bic", "BIC", -np.inf),
)


def test_synthetic_extremes_parse_back():
    names = ["Intercept", "x", "a" * 33, "b" * 60, "é€ unicode ok", "c" * 200,
             "tab\tand\nnewline"]
    summary = Summary("A title", SYNTHETIC_HEADER, _synthetic(pd.Index(names, name="term")),
                      ("A note that is long enough to be wrapped onto more than one line "
                       "of the summary, which is at least 78 characters wide.",))
    rows = _check(summary)
    printed = [token for _, _, tokens, _ in rows for token in tokens]
    for expected in ("1.000e-12", "-1.000e+12", "--", "inf", "-inf", "0.0000", "1.5000",
                     "-1234.5679"):
        assert expected in printed
    assert "tab?and?newline" in [name for _, name, _, _ in rows]
    assert "Prob > chi2:" in str(summary) and "1.000e-300" in str(summary)


def test_multinomial_blocks_with_extremes_parse_back():
    index = pd.MultiIndex.from_product([["versicolor", "a" * 90], ["Intercept", "x" * 45]],
                                       names=["species", "term"])
    rows = _check(Summary("T", SYNTHETIC_HEADER[:4], _synthetic(index, seed=3)))
    assert {block for block, _, _, _ in rows} == {"species = versicolor",
                                                  "species = " + "a" * 90}


def test_notes_render_in_parentheses_and_aliased_rows_print_dashes():
    table = pd.DataFrame([[1.5, 0.5, 3.0, 0.003, 0.52, 2.48, ""],
                          [np.nan] * 6 + ["aliased"],
                          [30.0] + [np.nan] * 5 + ["separated"]],
                         index=pd.Index(["x", "x_copy", "flag"], name="term"),
                         columns=COLUMNS + ["note"])
    lines = str(Summary("T", (), table)).split("\n")
    row = {line.split()[0]: line for line in lines if line.split()[:1] in (["x"], ["x_copy"],
                                                                           ["flag"])}
    assert row["x_copy"].split() == ["x_copy"] + ["--"] * 6 + ["(aliased)"]
    assert row["flag"].split() == ["flag", "30.0000"] + ["--"] * 5 + ["(separated)"]
    assert row["x"].split() == ["x", "1.5000", "0.5000", "3.000", "0.003", "0.5200", "2.4800"]
    _check(Summary("T", (), table))


def test_separated_fit_marks_its_rows():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=200), "flag": rng.uniform(size=200) < 0.2})
    y = np.where(frame["flag"], 1, (frame["x"] + rng.logistic(size=200) > 0).astype(int))
    with pytest.warns(lk.PerfectSeparationWarning):
        m = lk.LogisticRegression().fit(frame, y)
    summary = m.summary()
    rows = _check(summary)
    notes = {name: note for _, name, _, note in rows}
    assert notes == {"Intercept": None, "x": None, "flag[True]": "separated"}
    table = summary.to_frame()
    assert np.isnan(table.loc["flag[True]", "std_err"])
    assert table.loc["flag[True]", "note"] == "separated"
    assert np.isfinite(table.loc["x", "std_err"])
    assert "quasi-complete" in str(summary)


def test_names_that_share_head_and_tail_stay_distinct():
    names = [f"{'a' * 25} scale {s:.0e} {'b' * 25}" for s in SCALES]
    table = _synthetic(pd.Index(names, name="term"), notes=False)
    rows = _check(Summary("T", (), table))
    printed = [name for _, name, _, _ in rows]
    assert len(set(printed)) == len(names) and all("..." in name for name in printed)


def test_spector_keeps_its_look_and_p_values_print_one_way(spector, ucla):
    m = lk.LogisticRegression().fit(spector[["GPA", "TUCE", "PSI"]], spector["GRADE"])
    text = str(m.summary())
    assert text.split("\n")[12:19] == [
        "                   coef    std err          z      P>|z|     [0.025     0.975]",
        "-" * 78,
        "Intercept      -13.0213     4.9313     -2.641      0.008   -22.6866    -3.3561",
        "GPA              2.8261     1.2629      2.238      0.025     0.3508     5.3014",
        "TUCE             0.0952     0.1416      0.672      0.501    -0.1823     0.3726",
        "PSI              2.3787     1.0646      2.234      0.025     0.2922     4.4652",
        "=" * 78,
    ]
    assert "Prob > chi2:           0.001502" in text
    assert "<th>Prob &gt; chi2</th><td>0.001502</td>" in m.summary()._repr_html_()
    o = lk.OrdinalLogisticRegression().fit(ucla[["pared", "public", "gpa"]], ucla["apply"])
    assert re.search(r"Prob > chi2: +2\.290e-05\n", str(o.summary()))
    html = o.summary()._repr_html_()
    assert "<td>2.290e-05</td>" in html and "<td>8.090e-05</td>" in html  # pared's P>|z|


def test_header_items_carry_stable_keys(spector):
    m = lk.LogisticRegression().fit(spector[["GPA", "TUCE", "PSI"]], spector["GRADE"],
                                    sample_weight=np.full(len(spector), 2.0))
    values = m.summary().header_values()
    assert list(values) == ["dep_variable", "model", "link", "solver", "converged", "n_iter",
                            "cov_type", "separation", "n_obs", "df_model", "df_resid",
                            "log_likelihood", "null_log_likelihood", "lr_chi2", "lr_pvalue",
                            "pseudo_r2", "aic", "bic"]
    assert values["n_obs"] == 64 and type(values["n_obs"]) is int
    assert values["df_resid"] == 60 and type(values["df_resid"]) is int
    fractional = lk.LogisticRegression().fit(spector[["GPA", "TUCE", "PSI"]],
                                             spector["GRADE"],
                                             sample_weight=np.full(len(spector), 0.7))
    n_obs = fractional.summary().header_values()["n_obs"]
    assert type(n_obs) is float and n_obs == pytest.approx(22.4)


def test_header_items_must_be_keyed_triples():
    with pytest.raises(ValueError, match=r"\(key, label, value\)"):
        Summary("T", (("Model", "Logit"),), _synthetic(pd.Index(["x"])))
    with pytest.raises(ValueError, match="unique"):
        Summary("T", (("aic", "AIC", 1.0), ("aic", "AIC", 2.0)), _synthetic(pd.Index(["x"])))
