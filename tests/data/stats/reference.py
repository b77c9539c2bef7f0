#!/usr/bin/python3
"""Computes with scipy and sklearn what ferry's statistics (src/stats) must reproduce,
on cases the C++ parity tests generate (tests/stats/*_parity_test.cc).

    reference.py CASES_JSON RESULTS_JSON

CASES_JSON holds one object with any of the sections below, each a list of cases;
RESULTS_JSON gets the same sections with one result object per case, in order.
Numbers that JSON cannot hold are written as the strings "inf", "-inf" and "nan".

Each section computes what Evidently's default drift tests compute (where the section
says so), with the scipy/sklearn functions named, so that the C++ side is checked against
the libraries themselves, not against a re-derivation of their formulas.
"""

import importlib
import json
import math
import sys
import warnings


def need(module):
    """Imports `module` or exits saying which package is missing. Sections import what
    they use (sklearn alone takes half a second), so a test runs only what it needs."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        sys.exit(f"reference.py needs {module} (Debian: python3-numpy python3-scipy "
                 f"python3-sklearn, installed by scripts/bootstrap): {error}")


np = need("numpy")


def ks_2samp(case):
    stats = need("scipy.stats")
    a, b = np.array(case["a"]), np.array(case["b"])
    out = {}
    if case.get("exact", True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = stats.ks_2samp(a, b, method="exact")
        out["statistic_exact"], out["p_exact"] = r.statistic, r.pvalue
        # scipy falls back to 'asymp' (with a RuntimeWarning) where its own exact
        # computation fails, e.g. D = 1/n for two samples of n: recorded for the message.
        out["exact_fell_back"] = any("Switching" in str(w.message) for w in caught)
    r = stats.ks_2samp(a, b, method="asymp")
    out["statistic"], out["p_asymp"] = r.statistic, r.pvalue
    r = stats.ks_2samp(a, b)
    out["p_auto"] = r.pvalue
    en = len(a) * len(b) / (len(a) + len(b))
    out["p_kstwobign"] = stats.kstwobign.sf(math.sqrt(en) * out["statistic"])
    return out


def chisquare(case):
    """Evidently's chisquare drift test on counts per category (the union of categories)."""
    stats = need("scipy.stats")
    ref = np.array(case["reference"], dtype=float)
    cur = np.array(case["current"], dtype=float)
    k_norm = cur.sum() / ref.sum()
    f_exp = [r * k_norm for r in ref]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = stats.chisquare(cur, f_exp)
    return {"statistic": r.statistic, "p": r.pvalue}


def chisquare_gof(case):
    stats = need("scipy.stats")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = stats.chisquare(case["observed"], case["expected"])
    return {"statistic": r.statistic, "p": r.pvalue}


def z_test(case):
    """Evidently's z drift test: category 0 is "success", values are 1 for it, 0 otherwise."""
    stats = need("scipy.stats")
    ref = np.repeat([1, 0][:len(case["reference"])], case["reference"])
    cur = np.repeat([1, 0][:len(case["current"])], case["current"])
    if len(case["reference"]) == 1 or (len(set(ref)) == 1 and set(ref) == set(cur)):
        return {"statistic": 0.0, "p": 1.0, "p_evidently": 1.0}
    n1, n2 = len(ref), len(cur)
    p1, p2 = float(sum(ref)) / n1, float(sum(cur)) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    # Evidently's 2 * (1 - cdf) rounds to 0 past |z| ~ 8; sf keeps the tail.
    return {"statistic": z, "p": 2 * stats.norm.sf(abs(z)),
            "p_evidently": 2 * (1 - stats.norm.cdf(abs(z)))}


def wasserstein(case):
    stats = need("scipy.stats")
    u, v = np.array(case["u"]), np.array(case["v"])
    w = stats.wasserstein_distance(u, v)
    return {"distance": w, "normalized": w / max(np.std(u), 0.001)}


def jensenshannon(case):
    distance = need("scipy.spatial.distance")
    p, q = case["p"], case["q"]
    return {"natural": distance.jensenshannon(p, q), "base2": distance.jensenshannon(p, q, base=2),
            "base10": distance.jensenshannon(p, q, base=10)}


def shares_with_empty_raised(counts):
    """Evidently's get_binned_data: count / total, exact zeros replaced by 0.0001."""
    shares = np.array(counts, dtype=float) / np.sum(counts)
    np.place(shares, shares == 0, 0.0001)
    return shares


def binned_drift(case):
    """Evidently's jensenshannon and psi drift scores on counts per bin or category."""
    distance = need("scipy.spatial.distance")
    ref = shares_with_empty_raised(case["reference"])
    cur = shares_with_empty_raised(case["current"])
    return {"jensenshannon": distance.jensenshannon(ref, cur),
            "psi": np.sum((ref - cur) * np.log(ref / cur))}


def binary_classification(case):
    """Scores are P(class 1); the predicted class is 1 when the score is > 0.5."""
    metrics = need("sklearn.metrics")
    y, scores = np.array(case["labels"]), np.array(case["scores"])
    predicted = (scores > 0.5).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero_division: 0 with UndefinedMetricWarning
        out = {"precision": metrics.precision_score(y, predicted),
               "recall": metrics.recall_score(y, predicted),
               "accuracy": metrics.accuracy_score(y, predicted),
               "predicted_positives": int(predicted.sum()), "positives": int(y.sum())}
        out["log_loss"] = metrics.log_loss(y, scores, eps=1e-15, labels=[0, 1])
    if 0 < y.sum() < len(y):
        out["auc"] = metrics.roc_auc_score(y, scores)
    return out


def multiclass_classification(case):
    """Rows of class probabilities; the predicted class is the first largest."""
    metrics = need("sklearn.metrics")
    y = np.array(case["labels"])
    probabilities = np.array(case["probabilities"]).reshape(len(y), case["classes"])
    predicted = np.argmax(probabilities, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"precision": metrics.precision_score(y, predicted, average="macro"),
                "recall": metrics.recall_score(y, predicted, average="macro"),
                "accuracy": metrics.accuracy_score(y, predicted),
                "log_loss": metrics.log_loss(y, probabilities, eps=1e-15,
                                             labels=list(range(case["classes"])))}


def regression(case):
    metrics = need("sklearn.metrics")
    y, predicted = case["labels"], case["predictions"]
    return {"rmse": metrics.mean_squared_error(y, predicted, squared=False),
            "mae": metrics.mean_absolute_error(y, predicted)}


SECTIONS = {
    "ks_2samp": ks_2samp, "chisquare": chisquare, "chisquare_gof": chisquare_gof,
    "z_test": z_test, "wasserstein": wasserstein, "jensenshannon": jensenshannon,
    "binned_drift": binned_drift, "binary_classification": binary_classification,
    "multiclass_classification": multiclass_classification, "regression": regression,
}


def plain(value):
    """Numbers as JSON can hold them: numpy scalars as Python ones, non-finite as strings."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    unknown = set(cases) - set(SECTIONS)
    if unknown:
        sys.exit(f"reference.py: unknown sections {sorted(unknown)}")
    results = {name: [plain(SECTIONS[name](case)) for case in section]
               for name, section in cases.items()}
    with open(sys.argv[2], "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
