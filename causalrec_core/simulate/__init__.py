r"""Ground-truth simulator: an e-commerce log whose causal effects are known exactly.

The simulator draws a shop, its users, a confounded logging recommender and a purchase funnel
from one structural causal model (SCM), writes the log a real shop would have (events with
exposures, positions and propensities), and computes the true effects of exposure in closed
form. Estimators and recommenders are tested against it.

Quick start
-----------
>>> from causalrec_core.simulate import simulate, write_simulation
>>> sim = simulate(n_users=2000, n_items=500, seed=0)         # doctest: +SKIP
>>> sim.truth["ate_exposure_purchase"], sim.truth["naive_difference"]  # doctest: +SKIP
>>> write_simulation(sim, "sample_data/shop")                 # doctest: +SKIP
>>> simulate_to_dir("big", n_users=300_000, n_items=5_000)  # ~10M events, streamed  # doctest: +SKIP

The structural causal model
---------------------------
Notation: sigma(x) = 1 / (1 + exp(-x)); d = ``latent_dim`` (8); z(.) standardises: z(log p_i)
over the catalogue; z(log pi_i) over the candidate population (each item weighted by its
probability of being a candidate, so that over candidates z has mean 0 and sd 1 whatever
the catalogue size and C); z_a(u) with the known population mean and sd of log activity.
Every constant below is a field of :class:`SimulationConfig` (defaults in brackets).

Items i = 1..n_items::

    c_i      ~ Categorical(w),  w ~ Dirichlet(4, ..., 4)            category (observed)
    mu_c     ~ N(0, I_d)                                            category centre
    phi_i    = category_weight [0.8] * mu_{c_i} + item_noise_sd [0.6] * N(0, I_d)   (latent)
    q_i      ~ N(0, 1)                                              quality (latent)
    log pi_i = popularity_quality [0.5] * q_i + popularity_log_sd [1.2] * N(0, 1)
               pi_i is observed as items.popularity / pairs.item_popularity
    log p_i  = log median_price(c_i) + price_log_sd [0.5] * N(0, 1)   price (observed, cents)
    title_i  = "<adjective> <modifier> <noun>" drawn from c_i's word lists,
               e.g. "Comfortable blue running shoes"                  (observed)

Users u = 1..n_users::

    theta_u       ~ N(0, I_d)                                       interest (latent)
    log a_u       = log activity_median [2.0] + activity_log_sd [0.8] * N(0, 1)
                    a_u = sessions per week (observed as users.activity, rounded to 1e-4);
                    z_a(u) = (log a_u - log activity_median) / activity_log_sd
    s_u           = tercile of z_a(u) + segment_noise_sd [0.5] * N(0, 1), cut at the
                    theoretical terciles: new (low) / casual / loyal (high)       (observed)
    beta_price(u) = price_sensitivity_{s_u} [new 0.8, casual 0.5, loyal 0.3]
                    * exp(price_sensitivity_log_sd [0.2] * N(0, 1))              (latent)

Candidates: each user gets C = ``candidates_per_user`` [60] distinct items, drawn successively
with probability proportional to pi_i (exact, via the exponential race / Gumbel top-k trick).
All quantities below are per candidate pair (u, i). Interest and score::

    int_ui = <theta_u, phi_i> / sqrt(d)
    r_ui   = int_ui + beta_quality [0.5] * q_i - beta_price(u) * z(log p_i)

Logging recommender (the confounder trap)::

    e_ui = clip(sigma(alpha0 [-1.7] + alpha_pop [1.0] z(log pi_i) + alpha_act [0.8] z_a(u)
                      + alpha_interest [0.0] int_ui), propensity_min [0.02], propensity_max [0.98])
           rounded to 6 decimals and logged as ``propensity``
    E_ui ~ Bernoulli(e_ui)                                              treatment ``exposed``

A user's exposed items, ordered by descending e_ui, are cut into slates of ``slate_size`` [10];
``position`` is the slot 1..10 inside the slate. Position is recorded but has no effect (so
one pair's potential outcomes do not depend on other pairs' exposures: no interference).

Funnel (each step requires the previous one; tau_s = tau_{new,casual,loyal} [1.2, 0.8, 0.4])::

    V_ui        ~ Bernoulli(sigma(gamma0 [-2.5] + gamma_act [0.6] z_a(u)
                                  + gamma_pop [0.6] z(log pi_i) + gamma_score [0.8] r_ui
                                  + tau_{s_u} E_ui))                                   view
    click | V   ~ Bernoulli(sigma(delta0 [-1.2] + r_ui))
    cart | click~ Bernoulli(sigma(kappa0 [-1.4] + r_ui))
    fav | cart  ~ Bernoulli(sigma(eta0 [-1.0] + eta_score [0.5] r_ui))
    buy | cart  ~ Bernoulli(sigma(rho0 [-2.0] + r_ui + rho_act [0.3] z_a(u) + rho_fav [0.5] fav))

Exposure acts on purchase only through viewing; activity and popularity (and, with
``alpha_interest > 0``, the latent interest) raise both exposure and the funnel (back-door
paths), which is why the naive comparison is biased.

Ground truth (closed form, no Monte Carlo). With P_V(e) = P(V=1 | E=e) and the step
probabilities above, marginalising the fav Bernoulli exactly::

    P(buy | do(E=e)) = P_V(e) * P_click * P_cart * (P_fav * P_buy|fav=1 + (1 - P_fav) * P_buy|fav=0)
    uplift_ui        = P(buy | do(E=1)) - P(buy | do(E=0))
    ATE  = mean uplift over all candidate pairs      ATT = mean over exposed pairs
    ATE_s = mean over pairs of segment s             ATE_view = mean of P_V(1) - P_V(0)
    naive_difference = observed purchase rate(exposed) - purchase rate(unexposed)

The true DAG (``truth["dag"]``) has nodes named after observable columns where possible:
treatment ``exposure`` (column ``exposed``), outcome ``purchase``, confounders ``user_activity``
and ``item_popularity``, mediators view / click / cart / fav, effect modifier ``segment``,
covariates ``propensity``, ``item_category``, ``item_price``, and latent ``interest``,
``quality``, ``price_sensitivity``. The logged propensity (exposure's only parent) is always a
valid adjustment set. With the default ``alpha_interest=0`` {user_activity, item_popularity} is
one too; with ``alpha_interest > 0`` latent interest drives exposure as well (an unobserved
confounder: the DAG then gains ``interest -> propensity`` and only the propensity works).
``truth["valid_adjustment_sets"]`` lists the valid sets for the configuration used.

Default rates (n_users=2000, n_items=500, seed 0): exposure 21.6%, view 16.0%, purchase 2.0%
of candidate pairs; true ATE 0.0085 vs naive difference 0.0184 (2.1x; 2.1-2.7x across seeds).
Adjusting for the logged propensity (or, with ``alpha_interest=0``, for activity and
popularity) recovers the ATE up to sampling noise.

Event log
---------
Every exposed pair gives one ``exposure`` row (an impression) and every funnel step reached
gives one row (view, click, cart, fav, purchase). A user has 1 + Poisson(a_u * days / 7)
sessions whose starts are spread over the ``days`` [30] window from ``start`` (2024-01-01 UTC)
with an evening-heavy hour-of-day profile, so more active users have more, more spread-out
sessions. Each slate is shown in one session; the impression is logged at the session start
plus its position in seconds, and the funnel follows with increasing exponential delays
(capped, so a pair's events span at most ~6 hours; the last events may run a few hours past
the window). Unexposed pairs are viewed organically in a random session of the user. A share
``repeat_view_rate`` [0.08] of viewed pairs get one later repeat ``view`` row (never an exact
duplicate). Rows are sorted by timestamp (ties by user, item, funnel step).

Sizes: about 0.55 events per candidate pair, i.e. 32-37 events per user with C=60 (a little
more with larger catalogues). n_users=2000, n_items=500 gives ~64k events (~3.6 MB of CSV);
~30,000 users give ~1M events (about 7 s in memory plus 3 s to write, on 2 cores) and
~300,000 users ~10M (use :func:`simulate_to_dir`, which streams the output: under 2 minutes and
under 1 GB of RAM).

Determinism
-----------
Items draw from ``default_rng(SeedSequence(seed, spawn_key=(0,)))`` and each block of 2048
users from ``spawn_key=(1, block)``, so a seed fixes every byte of the output, and the streamed
and in-memory paths give identical data.
"""

from __future__ import annotations

from .catalog import CATEGORY_NAMES
from .config import SimulationConfig
from .scm import EVENT_LABELS, SEGMENTS
from .simulator import Simulation, simulate, simulate_interventional
from .writer import simulate_to_dir, write_simulation

__all__ = [
    "CATEGORY_NAMES",
    "EVENT_LABELS",
    "SEGMENTS",
    "Simulation",
    "SimulationConfig",
    "simulate",
    "simulate_interventional",
    "simulate_to_dir",
    "write_simulation",
]
