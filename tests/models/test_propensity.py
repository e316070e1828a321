"""Observation propensities (causalrec_core.models.propensity)."""

from __future__ import annotations

import numpy as np
import pytest

from causalrec_core.errors import DataError, NotFittedError, ParameterError
from causalrec_core.models.data import Interactions, RecData
from causalrec_core.models.propensity import PropensityModel


def make(seed: int = 0, logged: bool = False, mar: bool = False) -> tuple[RecData, np.ndarray]:
    """Observation depends on item popularity and on the label (positives 3x as likely to be observed)."""
    rng = np.random.default_rng(seed)
    nu, ni = 120, 60
    y = rng.random((nu, ni)) < 0.3
    pop = np.exp(rng.normal(0, 1, ni))
    prop = np.clip(0.05 * pop / pop.mean() * np.where(y, 3.0, 1.0), 0.001, 1.0)
    obs = rng.random((nu, ni)) < prop
    u, i = np.nonzero(obs)
    value = np.where(y[u, i], 5.0, 1.0)
    train = Interactions(u, i, value, nu, ni, propensity=prop[u, i] if logged else None)
    mar_sample = None
    if mar:
        mu, mi = rng.integers(0, nu, 2000), rng.integers(0, ni, 2000)
        mar_sample = Interactions(mu, mi, np.where(y[mu, mi], 5.0, 1.0), nu, ni)
    return RecData("rating", train, np.arange(nu), np.arange(ni), mar_sample=mar_sample), prop


def test_auto_picks_method():
    assert PropensityModel().fit(make(logged=True)[0]).method_ == "logged"
    assert PropensityModel().fit(make(mar=True)[0]).method_ == "naive-bayes"
    assert PropensityModel().fit(make()[0]).method_ == "popularity"


def test_logged_are_used_and_clipping_reported():
    d, _ = make(logged=True)
    pm = PropensityModel(method="logged", clip=(0.05, 0.5)).fit(d)
    raw = d.train.propensity
    assert np.allclose(pm.train_propensity_, np.clip(raw, 0.05, 0.5))
    rep = pm.clip_report_
    assert rep["n_clipped_low"] == int((raw < 0.05).sum()) > 0
    assert rep["n_clipped_high"] == int((raw > 0.5).sum())
    assert rep["n_clipped"] == rep["n_clipped_low"] + rep["n_clipped_high"]
    assert rep["low"] == 0.05 and rep["high"] == 0.5 and rep["raw_min"] == pytest.approx(raw.min())
    assert pm.train_propensity_.min() >= 0.05 and pm.train_propensity_.max() <= 0.5


def test_popularity_tracks_item_popularity():
    d, prop = make()
    pm = PropensityModel(method="popularity", clip=(0.001, 1.0)).fit(d)
    p = pm.train_propensity_
    # the more popular item of the observed pairs gets the larger propensity, on average
    true = prop[d.train.user, d.train.item]
    assert np.corrcoef(np.log(p), np.log(true))[0, 1] > 0.5
    # mean propensity over all pairs equals the observation rate (logistic score equations)
    uu, ii = np.meshgrid(np.arange(d.n_users), np.arange(d.n_items), indexing="ij")
    allp = pm.predict(uu.ravel(), ii.ravel())
    assert allp.mean() == pytest.approx(len(d.train) / (d.n_users * d.n_items), rel=0.05)
    assert pm.clip_report_["n"] == len(d.train)


def test_naive_bayes_recovers_label_dependence():
    d, _ = make(mar=True)
    pm = PropensityModel(method="naive-bayes", clip=(0.001, 1.0)).fit(d)
    p0, p1 = pm.nb_table_
    assert 2.0 < p1 / p0 < 4.5  # truth: 3
    pos = d.train.value > d.threshold
    assert np.allclose(pm.train_propensity_[pos], p1) and np.allclose(pm.train_propensity_[~pos], p0)
    assert np.allclose(pm.predict([0, 1], [0, 1], values=[5.0, 1.0]), [p1, p0])
    with pytest.raises(DataError, match="pass values"):
        pm.predict([0], [0])


def test_errors():
    d, _ = make()
    with pytest.raises(DataError, match="logged propensities"):
        PropensityModel(method="logged").fit(d)
    with pytest.raises(DataError, match="mar_sample"):
        PropensityModel(method="naive-bayes").fit(d)
    with pytest.raises(ParameterError, match="method='ipw' is not supported"):
        PropensityModel(method="ipw").fit(d)
    with pytest.raises(ParameterError, match="clip"):
        PropensityModel(clip=(0.0, 1.0)).fit(d)
    with pytest.raises(NotFittedError):
        PropensityModel().predict([0], [0])


def test_features_option_uses_side_features():
    d, _ = make()
    rng = np.random.default_rng(1)
    d.user_features = np.eye(3)[rng.integers(0, 3, d.n_users)].astype(np.float32)
    d.item_features = np.eye(2)[rng.integers(0, 2, d.n_items)].astype(np.float32)
    a = PropensityModel(method="popularity").fit(d)
    b = PropensityModel(method="popularity", features=True).fit(d)
    assert len(a._coef) == 3 and len(b._coef) == 3 + 5
    assert not np.allclose(a.train_propensity_, b.train_propensity_)
