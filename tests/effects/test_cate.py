"""Tests of the CATE meta-learners, uplift metrics and neural CATE models (seeded; no timing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalrec_core.effects.cate import (
    CATE_LEARNERS,
    DRLearner,
    SLearner,
    TLearner,
    XLearner,
    auuc,
    effects_by_segment,
    make_cate_learner,
    qini_curve,
)
from causalrec_core.effects.estimators import EffectResult
from causalrec_core.effects.neural import NEURAL_LEARNERS, Dragonnet, TARNet
from causalrec_core.errors import NotFittedError, ParameterError

IHDP = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ihdp"
FAST_NN = {"epochs": 15, "rep_units": 32, "head_units": 16, "patience": 5}


def _synthetic(n: int = 1000, seed: int = 0) -> dict[str, np.ndarray]:
    """Confounded data with a known heterogeneous effect tau(x) = 1 + 2 x1 (sd(tau) = 2)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    e = 1 / (1 + np.exp(-0.8 * X[:, 0]))
    t = (rng.random(n) < e).astype(float)
    tau = 1 + 2 * X[:, 1]
    y = X[:, 0] + 0.5 * X[:, 2] + t * tau + rng.normal(size=n)
    for a in (X, t, tau, y, e):
        a.setflags(write=False)
    return {"X": X, "t": t, "y": y, "tau": tau, "e": e}


@pytest.fixture(scope="module")
def synth() -> dict[str, np.ndarray]:
    return _synthetic()


def _all_learners() -> list[tuple[str, object]]:
    out = [(f"{k}-{b}", (lambda c=c, b=b: c(base_learner=b, random_state=0)))
           for k, c in CATE_LEARNERS.items() for b in ("linear", "gbm")]
    out += [(k, (lambda c=c: c(random_state=0, device="cpu", **FAST_NN))) for k, c in NEURAL_LEARNERS.items()]
    return out


ALL = _all_learners()


@pytest.fixture(scope="module")
def fitted(synth: dict[str, np.ndarray]) -> dict[str, object]:
    return {name: make().fit(synth["X"], synth["t"], synth["y"]) for name, make in ALL}


def _pehe(cate: np.ndarray, tau: np.ndarray) -> float:
    return float(np.sqrt(np.mean((cate - tau) ** 2)))


# ------------------------------------------------------------------ contract


@pytest.mark.parametrize("name", [n for n, _ in ALL])
def test_contract(name: str, fitted: dict[str, object], synth: dict[str, np.ndarray]) -> None:
    model = fitted[name]
    n = len(synth["t"])
    assert model.cate_.shape == (n,)
    assert np.isfinite(model.cate_).all()
    assert isinstance(model.ate_, float)
    np.testing.assert_allclose(model.effect(synth["X"][:50]), model.cate_[:50], rtol=1e-6, atol=1e-6)
    res = model.result()
    assert isinstance(res, EffectResult)
    assert res.ci_method == "influence_function" and res.estimate == model.ate_
    assert res.ci_low < res.estimate < res.ci_high and res.se > 0 and res.n == n
    # true ATE is 1 + 2 E[x1] ~ 1; the interval covers it (a loose sanity check at 95%)
    assert res.ci_low - 0.2 < 1 + 2 * synth["X"][:, 1].mean() < res.ci_high + 0.2


@pytest.mark.parametrize("name", [n for n, _ in ALL])
def test_unfitted_raises(name: str, synth: dict[str, np.ndarray]) -> None:
    model = dict(ALL)[name]()
    with pytest.raises(NotFittedError, match="not fitted"):
        model.effect(synth["X"])
    with pytest.raises(NotFittedError):
        _ = model.ate_
    with pytest.raises(NotFittedError):
        model.result()


@pytest.mark.parametrize("name", [n for n, _ in ALL])
def test_effect_rejects_wrong_width(name: str, fitted: dict[str, object], synth: dict[str, np.ndarray]) -> None:
    with pytest.raises(ParameterError, match="columns"):
        fitted[name].effect(synth["X"][:, :2])


def test_invalid_parameters(synth: dict[str, np.ndarray]) -> None:
    X, t, y = synth["X"], synth["t"], synth["y"]
    with pytest.raises(ParameterError, match="base_learner='forest' is not supported; choose one of: 'gbm'"):
        TLearner(base_learner="forest").fit(X, t, y)
    with pytest.raises(ParameterError, match="n_folds=1"):
        DRLearner(n_folds=1).fit(X, t, y)
    with pytest.raises(ParameterError, match="t must be a binary"):
        SLearner().fit(X, t * 2, y)
    with pytest.raises(ParameterError, match="method='y_learner' is not supported"):
        make_cate_learner("y_learner")
    with pytest.raises(ParameterError, match="device='tpu' is not supported"):
        TARNet(device="tpu").fit(X, t, y)
    with pytest.raises(ParameterError, match="epochs=0"):
        Dragonnet(epochs=0).fit(X, t, y)
    assert isinstance(make_cate_learner("x_learner", base_learner="linear"), XLearner)


def test_known_propensity_is_used(synth: dict[str, np.ndarray]) -> None:
    m = DRLearner(base_learner="linear").fit(synth["X"], synth["t"], synth["y"], propensity=synth["e"])
    np.testing.assert_allclose(m.propensity_, np.clip(synth["e"], 0.01, 0.99))
    assert abs(m.ate_ - 1) < 0.25


def test_inputs_not_mutated(synth: dict[str, np.ndarray]) -> None:
    # the fixture arrays are read-only: fitting would raise if a learner wrote to them
    XLearner(base_learner="linear").fit(synth["X"], synth["t"], synth["y"])


# ------------------------------------------------------------------ accuracy on known heterogeneity
# Baseline: the best constant effect (the true ATE for every unit) has PEHE = sd(tau) = 1.94 here.
# Bounds = factor x baseline, with margin over the PEHEs measured at seed 0, n = 1000:
#   T/X/DR with linear bases (correct model class): measured 0.13-0.14   -> factor 0.15 (0.29)
#   T/X/DR with gbm bases: measured 0.56-0.80                            -> factor 0.60 (1.16)
#   S-learner gbm: measured 0.61                                         -> factor 0.50 (0.97)
#   S-learner linear is a constant effect by construction (1.94)         -> factor 1.02
#   TARNet/Dragonnet, tiny test networks (15 epochs): measured 0.41-0.44 -> factor 0.35 (0.68)
BOUND_FACTOR = {"linear": 0.15, "gbm": 0.60}


@pytest.mark.parametrize("name", [n for n, _ in ALL])
def test_pehe_below_bound(name: str, fitted: dict[str, object], synth: dict[str, np.ndarray]) -> None:
    baseline = float(np.std(synth["tau"]))
    pehe = _pehe(fitted[name].cate_, synth["tau"])
    if name == "s_learner-linear":
        factor = 1.02
    elif name == "s_learner-gbm":
        factor = 0.50
    elif name in NEURAL_LEARNERS:
        factor = 0.35
    else:
        factor = BOUND_FACTOR[name.rsplit("-", 1)[1]]
    assert pehe < factor * baseline, f"{name}: PEHE {pehe:.3f} >= {factor} x baseline {baseline:.3f}"


def test_dr_and_x_beat_s_on_heterogeneity(fitted: dict[str, object], synth: dict[str, np.ndarray]) -> None:
    # with a linear base the S-learner's effect is one constant, so it cannot follow tau(x); the DR and
    # X learners with the same base recover it (PEHE ~0.14 vs 1.94). With gbm bases the S-learner can
    # split on t and the ordering is data-dependent (measured here: S 0.61, X 0.56, DR 0.80), so it is
    # not asserted.
    s = _pehe(fitted["s_learner-linear"].cate_, synth["tau"])
    assert _pehe(fitted["dr_learner-linear"].cate_, synth["tau"]) < 0.2 * s
    assert _pehe(fitted["x_learner-linear"].cate_, synth["tau"]) < 0.2 * s


# ------------------------------------------------------------------ uplift metrics


def _randomised(n: int = 4000, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    t = (rng.random(n) < 0.5).astype(float)
    y = (rng.random(n) < 0.3 + t * 0.2 * (x > 0)).astype(float)  # uplift 0.2 where x > 0, else 0
    return x, t, y, np.full(n, 0.5)


def test_qini_known_ordering() -> None:
    x, t, y, e = _randomised()
    perfect, random_, reverse = auuc(x, t, y), auuc(np.zeros_like(x), t, y), auuc(-x, t, y)
    # expected: Radcliffe's Qini counts uplift per treated unit (half of all units here), so the perfect
    # ranking's area is 0.2 x 0.5 x 1/8 = 0.0125 per unit, the reversed one -0.0125, all-tied exactly 0;
    # the sampling sd at n = 4000 is ~0.002, so the bounds below are > 2 sd from the expectation
    assert perfect > 0.008 and reverse < -0.008 and random_ == 0
    # the IPW version with the true propensity ranks the same way
    assert auuc(x, t, y, e) > auuc(np.zeros_like(x), t, y, e) > auuc(-x, t, y, e)


def test_qini_curve_shape_and_ties() -> None:
    x, t, y, _ = _randomised(200)
    curve = qini_curve(x, t, y)
    assert list(curve.columns) == ["n", "fraction", "qini", "random"]
    assert curve["n"].iloc[0] == 0 and curve["n"].iloc[-1] == 200 and curve["fraction"].iloc[-1] == 1
    tied = qini_curve(np.zeros(200), t, y)  # one tie group: only the two end points
    assert len(tied) == 2 and auuc(np.zeros(200), t, y) == 0
    # the final point is the overall uplift estimate x N: difference of means for Radcliffe's version
    total = y[t == 1].sum() - y[t == 0].sum() * (t == 1).sum() / (t == 0).sum()
    assert curve["qini"].iloc[-1] == pytest.approx(total)


def test_qini_rejects_bad_input() -> None:
    with pytest.raises(ParameterError, match="equal length"):
        qini_curve(np.zeros(3), np.zeros(4), np.zeros(4))
    with pytest.raises(ParameterError, match="propensity is invalid"):
        qini_curve(np.zeros(2), np.array([0.0, 1.0]), np.zeros(2), propensity=np.array([0.0, 0.5]))


def test_effects_by_segment() -> None:
    cate = np.array([1.0, 3.0, 10.0, 10.0, 12.0])
    out = effects_by_segment(cate, ["a", "a", "b", "b", "b"])
    assert list(out.columns) == ["segment", "n", "mean", "se", "ci_low", "ci_high"]
    a = out.set_index("segment").loc["a"]
    assert a["n"] == 2 and a["mean"] == 2 and a["se"] == pytest.approx(1.0)
    assert a["ci_low"] == pytest.approx(2 - 1.959964) and a["ci_high"] == pytest.approx(2 + 1.959964)
    with pytest.raises(ParameterError, match="equal length"):
        effects_by_segment(cate, ["a"])
    with pytest.raises(ParameterError, match="missing labels"):
        effects_by_segment(cate, pd.Series(["a", None, "b", "b", "b"]))


# ------------------------------------------------------------------ neural models


@pytest.mark.parametrize("cls", [TARNet, Dragonnet])
def test_neural_reproducible_on_cpu(cls: type, synth: dict[str, np.ndarray]) -> None:
    X, t, y = synth["X"][:300], synth["t"][:300], synth["y"][:300]
    a = cls(random_state=3, device="cpu", targeted_reg=True, **FAST_NN).fit(X, t, y)
    b = cls(random_state=3, device="cpu", targeted_reg=True, **FAST_NN).fit(X, t, y)
    assert a.device_ == "cpu"
    np.testing.assert_array_equal(a.cate_, b.cate_)
    c = cls(random_state=4, device="cpu", targeted_reg=True, **FAST_NN).fit(X, t, y)
    assert not np.array_equal(a.cate_, c.cate_)


def test_torch_not_imported_at_module_import() -> None:
    import subprocess
    import sys

    code = "import sys, causalrec_core.effects.neural, causalrec_core.effects.cate; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ IHDP replication 1


def test_ihdp_replication_1_best_method() -> None:
    path = IHDP / "ihdp_npci_1.csv"
    if not path.exists():
        pytest.skip(f"../shared/data/ihdp not found: {path} is absent, so the IHDP check cannot run")
    d = np.loadtxt(path, delimiter=",")
    t, y, tau, X = d[:, 0], d[:, 1], d[:, 4] - d[:, 3], d[:, 5:]
    model = BEST_IHDP().fit(X, t, y)  # fitted on factual outcomes only
    assert _pehe(model.cate_, tau) < 1.0
    assert abs(model.ate_ - tau.mean()) < 0.3


# one of the Dragonnet configurations bench/bench_ihdp.py selects by factual validation MSE (the
# best family there by mean within-sample sqrt(PEHE) over replications 1-10)
BEST_IHDP = lambda: Dragonnet(targeted_reg=True, alpha=0.1, device="cpu", random_state=0)  # noqa: E731


# ------------------------------------------------------------------ segment report


def test_segment_report_subsamples_and_scores_held_out_units() -> None:
    from causalrec_core.effects.cate import segment_report

    d = _synthetic(n=3000, seed=5)
    seg = np.where(d["X"][:, 1] > 0, "high", "low")  # tau = 1 + 2 x1: larger in 'high'
    rep = segment_report("dr_learner", d["X"], d["t"], d["y"], seg, propensity=d["e"], base_learner="linear",
                         max_fit=1000, max_eval=1500, seed=0)
    by = rep["by_segment"].set_index("segment")
    assert rep["n_fit"] == 1000 and rep["n_eval"] == 1500 and rep["n_total"] == 3000
    assert by.loc["high", "mean"] > by.loc["low", "mean"] + 1
    assert (by["ci_low"] < by["mean"]).all() and "mean_cate" in by.columns
    assert rep["qini"] is not None and rep["auuc"] > 0
    assert any("subsample of 1,000" in n for n in rep["notes"]) and any("held-out" in n for n in rep["notes"])
    small = segment_report("t_learner", d["X"][:500], d["t"][:500], d["y"][:500], seg[:500], base_learner="linear")
    assert small["qini"] is None and small["n_fit"] == 500 and any("No Qini" in n for n in small["notes"])


def test_neural_lr_schedule_is_validated(synth: dict[str, np.ndarray]) -> None:
    X, t, y = synth["X"][:200], synth["t"][:200], synth["y"][:200]
    TARNet(lr_schedule="constant", device="cpu", **FAST_NN).fit(X, t, y)
    with pytest.raises(ParameterError, match="lr_schedule"):
        TARNet(lr_schedule="cosine").fit(X, t, y)


@pytest.mark.parametrize("method", ["s_learner", "t_learner", "x_learner", "dr_learner"])
def test_meta_learners_on_constant_covariates_say_so(method):
    """Degenerate covariates (constant on every unit) do not crash a meta-learner (its base models are
    regularised or trees, a valid fit), and its notes say that the covariates carry no information."""
    from causalrec_core.effects.cate import make_cate_learner, segment_report

    rng = np.random.default_rng(0)
    n = 40
    t = (np.arange(n) % 5 < 2).astype(float)
    y = rng.integers(0, 2, n).astype(float)
    X = pd.DataFrame({"user_activity": np.full(n, 2.0794), "item_popularity": np.full(n, 1.7918)})
    for base in ("linear", "gbm"):
        res = make_cate_learner(method, base_learner=base, random_state=0).fit(X, t, y).result()
        assert np.isfinite(res.estimate) and np.isfinite(res.se)
        assert any("'user_activity' (every value 2.079)" in note and "constant" in note for note in res.notes)
    out = segment_report(method, X, t, y, pd.Series(np.where(np.arange(n) % 2, "a", "b")), seed=0)
    assert any(note.startswith("Covariates:") and "item_popularity" in note for note in out["notes"])


def _funnel(n=1500, seed=0):
    """A funnel log: cart and purchase happen only after a view (carted is a mediator of viewed)."""
    rng = np.random.default_rng(seed)
    act, pop = rng.normal(size=n), rng.normal(size=n)
    viewed = (rng.random(n) < 1 / (1 + np.exp(-act))).astype(int)
    carted = ((rng.random(n) < 0.3) & (viewed == 1)).astype(int)
    purchased = ((rng.random(n) < 0.2 + 0.5 * carted) & (viewed == 1)).astype(int)
    return pd.DataFrame({"user_activity": act, "item_popularity": pop, "viewed": viewed, "carted": carted,
                         "purchased": purchased})


def test_segments_without_a_control_unit_or_outside_minus_one_one_are_flagged() -> None:
    """The browser review's case: segmenting viewed -> purchased on carted (a mediator) gave segment 1
    an 'ATE' of 1.43 (no unit of that segment is unviewed) presented as 'it gains most'."""
    from causalrec_core.effects.cate import flag_segments, segment_report

    d = _funnel()
    X = d[["user_activity", "item_popularity"]]
    rep = segment_report("dr_learner", X, d["viewed"], d["purchased"], d["carted"].astype(str),
                         base_learner="linear", seed=0)
    by = rep["by_segment"].set_index("segment")
    assert by.loc["1", "n_control"] == 0 and by.loc["1", "n_treated"] == int(d["carted"].sum())
    assert by.loc["1", "flag"].startswith("no control unit in this segment")
    assert by.loc["0", "flag"] == ""
    # a 0/1 outcome: an effect outside [-1, 1] is flagged with the reason
    by = pd.DataFrame({"segment": ["a", "b", "c"], "n": [4, 200, 200], "mean": [1.4, -1.2, 0.1], "se": 0.1,
                       "ci_low": [1.2, -1.4, 0.0], "ci_high": [1.6, -1.0, 0.2]})
    seg = np.repeat(["a", "b", "c"], [4, 200, 200])
    t = np.r_[[1, 1, 1, 0], np.tile([0, 1], 200)]
    out = flag_segments(by, t.astype(float), np.zeros(404), seg).set_index("segment")
    assert out.loc["a", "flag"].startswith("outside [-1, 1], impossible for a difference in probabilities: "
                                           "too few units of an arm in the segment (3 treated and 1 control)")
    assert "poor overlap" in out.loc["b", "flag"] and out.loc["c", "flag"] == ""
    # a continuous outcome may have any effect size
    assert flag_segments(by, t.astype(float), np.linspace(0, 5, 404), seg)["flag"].tolist()[:2] == ["", ""]
