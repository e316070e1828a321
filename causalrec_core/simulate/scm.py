"""The structural causal model itself: items, user blocks, candidates, exposure, funnel, timing.

Everything here is vectorised numpy over ``(users_in_block, candidates_per_user)`` arrays; the
only Python loops run over blocks of :data:`BLOCK_USERS` users, over the six event kinds and over
Monte-Carlo draws. See the package docstring for the equations.

Random streams
--------------
Items use ``default_rng(SeedSequence(seed, spawn_key=(0,)))``; the users of block ``b`` (users
``b * BLOCK_USERS`` .. ``(b + 1) * BLOCK_USERS - 1``) use ``spawn_key=(1, b)``. A block's draws
therefore do not depend on how many blocks are generated at once, which is why
:func:`~causalrec_core.simulate.simulate` and :func:`~causalrec_core.simulate.simulate_to_dir`
produce the same data for the same seed and configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa

from .catalog import CATEGORIES
from .config import SimulationConfig

__all__ = [
    "BLOCK_USERS",
    "EVENT_LABELS",
    "SEGMENTS",
    "Block",
    "PAIRS_SCHEMA",
    "EventArrays",
    "FunnelInputs",
    "Items",
    "funnel_probabilities",
    "generate_block",
    "make_items",
    "n_blocks",
    "sample_funnel",
    "sigmoid",
]

#: User segments, in increasing order of activity.
SEGMENTS: tuple[str, ...] = ("new", "casual", "loyal")

#: Event labels by event code (the code is the row's funnel order, used to break timestamp ties).
EVENT_LABELS: tuple[str, ...] = ("exposure", "view", "click", "cart", "fav", "purchase")

#: Users per random-stream block. Part of the determinism contract: changing it changes the data.
BLOCK_USERS = 2048

#: Upper bound on users x items cells drawn at once when sampling candidate sets.
_CANDIDATE_CELLS = 2_000_000

#: Phi^{-1}(2/3): the upper tercile of a standard normal.
_Z_TERCILE = 0.4307272992954576

#: Relative weight of each hour of the day (UTC) as a session start: quiet nights, busy evenings.
_HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 6, 6, 7, 8, 10, 12, 12, 10, 7, 4], dtype=float
)
_HOUR_P = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()

#: (mean, cap) in seconds of the exponential delays between consecutive events of one pair.
_DELAY_VIEW_EXPOSED = (40.0, 1800)
_DELAY_VIEW_ORGANIC = (900.0, 3600)
_DELAY_CLICK = (20.0, 600)
_DELAY_CART = (60.0, 1800)
_DELAY_FAV = (30.0, 600)
_DELAY_PURCHASE = (180.0, 3600)
_DELAY_REPEAT = (1800.0, 14400)


#: Column order and Arrow types of the pair table (pairs.parquet).
PAIRS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("item_id", pa.string()),
        ("segment", pa.string()),
        ("exposed", pa.int8()),
        ("position", pa.int8()),
        ("propensity", pa.float64()),
        ("p_view_treated", pa.float64()),
        ("p_view_control", pa.float64()),
        ("p_purchase_treated", pa.float64()),
        ("p_purchase_control", pa.float64()),
        ("uplift", pa.float64()),
        ("viewed", pa.int8()),
        ("clicked", pa.int8()),
        ("carted", pa.int8()),
        ("favourited", pa.int8()),
        ("purchased", pa.int8()),
        ("user_activity", pa.float64()),
        ("item_popularity", pa.float64()),
    ]
)


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    """Numerically stable logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def id_strings(prefix: str, start: int, stop: int, width: int) -> np.ndarray:
    """``prefix`` + zero-padded 1-based numbers ``start+1 .. stop`` (e.g. ``u00001``)."""
    numbers = np.arange(start + 1, stop + 1).astype(str)
    return np.char.add(prefix, np.char.zfill(numbers, width)).astype(object)


def id_width(n: int) -> int:
    """Digits used in ids: at least 5 (``u00001``), more for populations of 100000 or more."""
    return max(5, len(str(n)))


def n_blocks(cfg: SimulationConfig) -> int:
    """Number of user blocks for ``cfg``."""
    return -(-cfg.n_users // BLOCK_USERS)


# --------------------------------------------------------------------------------------- items


@dataclass(frozen=True)
class Items:
    """All item attributes, observed and latent (index = item number - 1)."""

    category: np.ndarray  # int, index into CATEGORIES
    phi: np.ndarray  # (n_items, d) latent vectors
    quality: np.ndarray  # latent q_i
    popularity: np.ndarray  # pi_i (observed as item_popularity)
    price: np.ndarray  # observed, rounded to cents
    z_pop: np.ndarray  # z(log pi_i) over the catalogue
    z_price: np.ndarray  # z(log p_i) over the catalogue
    title: np.ndarray  # object array of str

    def table(self, cfg: SimulationConfig) -> pa.Table:
        """The observed item table: item_id, category, price, title, popularity."""
        n = len(self.category)
        names = np.array([c.name for c in CATEGORIES], dtype=object)
        return pa.table(
            {
                "item_id": pa.array(id_strings("i", 0, n, id_width(cfg.n_items)), pa.string()),
                "category": pa.array(names[self.category], pa.string()),
                "price": pa.array(self.price, pa.float64()),
                "title": pa.array(self.title, pa.string()),
                "popularity": pa.array(self.popularity, pa.float64()),
            }
        )


def _zscore(x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    mean = np.average(x, weights=weights)
    sd = math.sqrt(np.average((x - mean) ** 2, weights=weights))
    return (x - mean) / (sd if sd > 0 else 1.0)


def inclusion_probabilities(popularity: np.ndarray, c: int) -> np.ndarray:
    """Probability that each item is among a user's ``c`` candidates (drawn proportional to pi).

    In the exponential race an item is a candidate when Exp(1) / pi_i falls below the c-th
    smallest key; replacing that threshold by the t solving sum_i (1 - exp(-pi_i t)) = c gives
    P_i = 1 - exp(-pi_i t), accurate to O(1/c) and exact in the limits c = 1 and c = n.
    """
    n = len(popularity)
    if c >= n:
        return np.ones(n)
    lo, hi = -60.0, 60.0  # bisection on log t
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (-np.expm1(-popularity * math.exp(mid))).sum() < c:
            lo = mid
        else:
            hi = mid
    return -np.expm1(-popularity * math.exp(0.5 * (lo + hi)))


def make_items(cfg: SimulationConfig) -> Items:
    """Draw the catalogue: categories, latent vectors, quality, popularity, prices and titles."""
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(0,)))
    n, k, d = cfg.n_items, cfg.n_categories, cfg.latent_dim
    cat_p = rng.dirichlet(np.full(k, 4.0))
    category = rng.choice(k, size=n, p=cat_p)
    centres = rng.standard_normal((k, d))
    phi = cfg.category_weight * centres[category] + cfg.item_noise_sd * rng.standard_normal((n, d))
    quality = rng.standard_normal(n)
    log_pop = cfg.popularity_quality * quality + cfg.popularity_log_sd * rng.standard_normal(n)
    popularity = np.round(np.exp(log_pop), 6)
    popularity = np.maximum(popularity, 1e-6)
    median = np.array([CATEGORIES[c].median_price for c in range(k)])
    raw_price = np.exp(np.log(median[category]) + cfg.price_log_sd * rng.standard_normal(n))
    price = np.maximum(np.round(raw_price, 2), 0.5)
    # Titles: one (adjective, modifier, noun) draw per item from its category's word lists.
    u = rng.random((3, n))
    title = np.empty(n, dtype=object)
    for c in range(k):  # loop over categories (<= 12), vectorised inside
        idx = np.flatnonzero(category == c)
        if idx.size == 0:
            continue
        spec = CATEGORIES[c]
        adjectives = np.array([a[:1].upper() + a[1:] for a in spec.adjectives], dtype=object)
        modifiers = np.array(spec.modifiers, dtype=object)
        nouns = np.array(spec.nouns, dtype=object)
        adj = adjectives[(u[0, idx] * len(adjectives)).astype(int)]
        mod = modifiers[(u[1, idx] * len(modifiers)).astype(int)]
        noun = nouns[(u[2, idx] * len(nouns)).astype(int)]
        title[idx] = adj + " " + mod + " " + noun
    return Items(
        category=category,
        phi=phi,
        quality=quality,
        popularity=popularity,
        price=price,
        # standardised over the candidate population (inclusion-weighted), so that exposure
        # and view rates do not drift with the catalogue size or C
        z_pop=_zscore(np.log(popularity), inclusion_probabilities(popularity, cfg.candidates_per_user)),
        z_price=_zscore(np.log(price)),
        title=title,
    )


# -------------------------------------------------------------------------------------- funnel


@dataclass(frozen=True)
class FunnelInputs:
    """The per-pair quantities the funnel depends on (all arrays of one shape).

    view_logit : gamma0 + gamma_act z(log a_u) + gamma_pop z(log pi_i) + gamma_score r_ui
    tau : tau(segment_u), the exposure effect on the view logit
    score : r_ui
    act_z : z(log a_u)
    """

    view_logit: np.ndarray
    tau: np.ndarray
    score: np.ndarray
    act_z: np.ndarray

    def ravel(self) -> FunnelInputs:
        return FunnelInputs(*(np.ravel(getattr(self, f.name)) for f in fields(self)))

    @staticmethod
    def concat(parts: list[FunnelInputs]) -> FunnelInputs:
        return FunnelInputs(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(FunnelInputs))
        )


def funnel_probabilities(
    inputs: FunnelInputs, exposure: np.ndarray | float, cfg: SimulationConfig
) -> dict[str, np.ndarray]:
    """Closed-form step probabilities of the funnel with exposure set to ``exposure``.

    Returns a dict with ``view`` = P(V=1 | E), ``click`` = P(click | V), ``cart`` =
    P(cart | click), ``fav`` = P(fav | cart), ``purchase_no_fav`` / ``purchase_fav`` =
    P(purchase | cart, fav=0/1), and ``purchase`` = P(purchase | do(E)), the product along the
    funnel with the fav Bernoulli marginalised exactly:
    ``view * click * cart * (fav * purchase_fav + (1 - fav) * purchase_no_fav)``.
    """
    pv = sigmoid(inputs.view_logit + inputs.tau * np.asarray(exposure, dtype=float))
    pc = sigmoid(cfg.delta0 + inputs.score)
    pk = sigmoid(cfg.kappa0 + inputs.score)
    pf = sigmoid(cfg.eta0 + cfg.eta_score * inputs.score)
    buy_logit = cfg.rho0 + inputs.score + cfg.rho_act * inputs.act_z
    pb0 = sigmoid(buy_logit)
    pb1 = sigmoid(buy_logit + cfg.rho_fav)
    purchase = pv * pc * pk * (pf * pb1 + (1.0 - pf) * pb0)
    return {
        "view": pv,
        "click": pc,
        "cart": pk,
        "fav": pf,
        "purchase_no_fav": pb0,
        "purchase_fav": pb1,
        "purchase": purchase,
    }


def sample_funnel(probs: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw the funnel step by step (view, click, cart, fav, purchase) from ``probs``.

    Five uniforms are drawn per pair whether or not the step is reached, so the number of draws
    never depends on outcomes. Returns boolean arrays keyed by step name.
    """
    shape = np.broadcast_shapes(*(np.shape(p) for p in probs.values()))
    u = rng.random((5, *shape))
    view = u[0] < probs["view"]
    click = view & (u[1] < probs["click"])
    cart = click & (u[2] < probs["cart"])
    fav = cart & (u[3] < probs["fav"])
    p_buy = np.where(fav, probs["purchase_fav"], probs["purchase_no_fav"])
    purchase = cart & (u[4] < p_buy)
    return {"view": view, "click": click, "cart": cart, "fav": fav, "purchase": purchase}


# -------------------------------------------------------------------------------------- blocks


@dataclass
class EventArrays:
    """Compact numeric event rows (about 24 bytes each); formatted to text only when written."""

    user: np.ndarray  # int32, user number - 1
    item: np.ndarray  # int32, item number - 1
    ts: np.ndarray  # int64, seconds after the window start
    code: np.ndarray  # int8, index into EVENT_LABELS
    exposed: np.ndarray  # int8 0/1
    position: np.ndarray  # int8, 0 = not exposed
    prop_micro: np.ndarray  # int32, propensity * 1e6 (propensities are rounded to 6 decimals)

    def __len__(self) -> int:
        return len(self.ts)

    @staticmethod
    def concat(parts: list[EventArrays]) -> EventArrays:
        return EventArrays(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(EventArrays))
        )

    def take(self, index: np.ndarray) -> EventArrays:
        return EventArrays(*(getattr(self, f.name)[index] for f in fields(EventArrays)))

    def sort_order(self) -> np.ndarray:
        """Row order by timestamp; ties broken by user, item and funnel step (deterministic)."""
        return np.lexsort((self.code, self.item, self.user, self.ts))


@dataclass
class Block:
    """Everything generated for one block of users."""

    users: pa.Table
    pairs: pa.Table
    events: EventArrays
    stats: dict[str, np.ndarray]
    latent: FunnelInputs | None


def _sample_candidates(
    rng: np.random.Generator, popularity: np.ndarray, n_users: int, c: int
) -> np.ndarray:
    """C distinct items per user, drawn successively with probability proportional to pi_i.

    Exponential-race form of the Gumbel top-k trick: the C smallest of Exp(1) / pi_i are an
    exact draw without replacement proportional to pi. Returned sorted by item index.
    """
    n_items = len(popularity)
    inv_pop = (1.0 / popularity).astype(np.float32)
    rows = max(1, _CANDIDATE_CELLS // n_items)
    out = np.empty((n_users, c), dtype=np.int64)
    for lo in range(0, n_users, rows):  # loop over user batches, not pairs
        hi = min(n_users, lo + rows)
        keys = rng.standard_exponential((hi - lo, n_items), dtype=np.float32) * inv_pop
        if c < n_items:
            top = np.argpartition(keys, c - 1, axis=1)[:, :c]
        else:
            top = np.broadcast_to(np.arange(n_items), (hi - lo, n_items))
        out[lo:hi] = np.sort(top, axis=1)
    return out


def _delay(x: np.ndarray, spec: tuple[float, int]) -> np.ndarray:
    mean, cap = spec
    return 1 + np.minimum(np.floor(x * mean), cap).astype(np.int64)


def generate_block(
    cfg: SimulationConfig, items: Items, block: int, *, keep_latent: bool = False
) -> Block:
    """Generate users ``block * BLOCK_USERS ..`` with their candidates, exposures and funnel."""
    first = block * BLOCK_USERS
    nb = min(BLOCK_USERS, cfg.n_users - first)
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(1, block)))
    d, c, s = cfg.latent_dim, cfg.candidates_per_user, cfg.slate_size

    # ---- users: interest, activity, segment, price sensitivity
    theta = rng.standard_normal((nb, d))
    log_median = math.log(cfg.activity_median)
    activity = np.round(np.exp(log_median + cfg.activity_log_sd * rng.standard_normal(nb)), 4)
    activity = np.maximum(activity, 1e-4)
    act_z = (np.log(activity) - log_median) / cfg.activity_log_sd  # exact z of the observed value
    cut = _Z_TERCILE * math.sqrt(1.0 + cfg.segment_noise_sd**2)
    seg_score = act_z + cfg.segment_noise_sd * rng.standard_normal(nb)
    segment = (seg_score > -cut).astype(np.int64) + (seg_score > cut)
    sens_base = np.array(
        [cfg.price_sensitivity_new, cfg.price_sensitivity_casual, cfg.price_sensitivity_loyal]
    )
    price_sens = sens_base[segment] * np.exp(
        cfg.price_sensitivity_log_sd * rng.standard_normal(nb)
    )

    # ---- sessions: 1 + Poisson(activity * weeks), start times over the window
    n_sess = 1 + rng.poisson(activity * cfg.days / 7.0)
    sess_offset = np.cumsum(n_sess) - n_sess
    total = int(n_sess.sum())
    day = rng.integers(0, cfg.days, size=total)
    hour = rng.choice(24, size=total, p=_HOUR_P)
    second = rng.integers(0, 3600, size=total)
    sess_start = day.astype(np.int64) * 86400 + hour * 3600 + second

    # ---- candidates and the logging recommender
    cand = _sample_candidates(rng, items.popularity, nb, c)
    interest = np.einsum("ucd,ud->uc", items.phi[cand], theta) / math.sqrt(d)
    score = (
        interest
        + cfg.beta_quality * items.quality[cand]
        - price_sens[:, None] * items.z_price[cand]
    )
    z_pop = items.z_pop[cand]
    act_zz = np.broadcast_to(act_z[:, None], (nb, c))
    prop = sigmoid(
        cfg.alpha0 + cfg.alpha_pop * z_pop + cfg.alpha_act * act_zz + cfg.alpha_interest * interest
    )
    prop = np.round(np.clip(prop, cfg.propensity_min, cfg.propensity_max), 6)
    exposed = rng.random((nb, c)) < prop

    # ---- funnel: closed-form potential outcomes and one realised draw
    tau_seg = np.array([cfg.tau_new, cfg.tau_casual, cfg.tau_loyal])
    inputs = FunnelInputs(
        view_logit=(
            cfg.gamma0 + cfg.gamma_act * act_zz + cfg.gamma_pop * z_pop + cfg.gamma_score * score
        ),
        tau=np.broadcast_to(tau_seg[segment][:, None], (nb, c)),
        score=score,
        act_z=act_zz,
    )
    p1 = funnel_probabilities(inputs, 1.0, cfg)
    p0 = funnel_probabilities(inputs, 0.0, cfg)
    realised = sample_funnel(funnel_probabilities(inputs, exposed, cfg), rng)

    # ---- slates and positions: exposed items of a user by descending propensity
    order = np.argsort(np.where(exposed, -prop, np.inf), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(c), (nb, c)), axis=1)
    position = np.where(exposed, rank % s + 1, 0)
    n_slates = -(-c // s)
    slate = np.minimum(rank // s, n_slates - 1)

    # ---- timing: each slate (and each organic view) lands in one of the user's sessions
    u_slate = rng.random((nb, n_slates))
    u_org = rng.random((nb, c))
    u_sess = np.where(exposed, np.take_along_axis(u_slate, slate, axis=1), u_org)
    local = np.minimum((u_sess * n_sess[:, None]).astype(np.int64), n_sess[:, None] - 1)
    t0 = sess_start[sess_offset[:, None] + local]
    x = rng.standard_exponential((6, nb, c))
    u_rep = rng.random((nb, c))
    t_imp = t0 + position - 1
    t_view = np.where(
        exposed, t_imp + _delay(x[0], _DELAY_VIEW_EXPOSED), t0 + _delay(x[0], _DELAY_VIEW_ORGANIC)
    )
    t_click = t_view + _delay(x[1], _DELAY_CLICK)
    t_cart = t_click + _delay(x[2], _DELAY_CART)
    t_fav = t_cart + _delay(x[3], _DELAY_FAV)
    t_buy = t_fav + _delay(x[4], _DELAY_PURCHASE)
    view, click, cart = realised["view"], realised["click"], realised["cart"]
    fav, buy = realised["fav"], realised["purchase"]
    t_last = np.where(
        buy, t_buy, np.where(fav, t_fav, np.where(cart, t_cart, np.where(click, t_click, t_view)))
    )
    repeat = view & (u_rep < cfg.repeat_view_rate)
    t_repeat = t_last + _delay(x[5], _DELAY_REPEAT)

    # ---- event rows (flat pair index = row-major over (user, candidate))
    kinds = (
        (exposed, t_imp, 0),
        (view, t_view, 1),
        (click, t_click, 2),
        (cart, t_cart, 3),
        (fav, t_fav, 4),
        (buy, t_buy, 5),
        (repeat, t_repeat, 1),
    )
    flat_pair, flat_ts, flat_code = [], [], []
    for mask, when, code in kinds:  # seven event kinds, vectorised inside
        idx = np.flatnonzero(mask)
        flat_pair.append(idx)
        flat_ts.append(when.ravel()[idx])
        flat_code.append(np.full(idx.size, code, dtype=np.int8))
    pair_idx = np.concatenate(flat_pair)
    prop_micro = np.rint(prop * 1e6).astype(np.int32)
    events = EventArrays(
        user=(first + pair_idx // c).astype(np.int32),
        item=cand.ravel()[pair_idx].astype(np.int32),
        ts=np.concatenate(flat_ts).astype(np.int64),
        code=np.concatenate(flat_code),
        exposed=exposed.ravel()[pair_idx].astype(np.int8),
        position=position.ravel()[pair_idx].astype(np.int8),
        prop_micro=prop_micro.ravel()[pair_idx],
    )

    # ---- observed tables
    seg_names = np.array(SEGMENTS, dtype=object)
    uid = id_strings("u", first, first + nb, id_width(cfg.n_users))
    iid_all = id_strings("i", 0, cfg.n_items, id_width(cfg.n_items))
    users = pa.table(
        {
            "user_id": pa.array(uid, pa.string()),
            "activity": pa.array(activity, pa.float64()),
            "segment": pa.array(seg_names[segment], pa.string()),
        }
    )
    uplift = p1["purchase"] - p0["purchase"]
    flat_exposed = exposed.ravel()
    pairs = pa.table(
        {
            "user_id": pa.array(np.repeat(uid, c), pa.string()),
            "item_id": pa.array(iid_all[cand.ravel()], pa.string()),
            "segment": pa.array(np.repeat(seg_names[segment], c), pa.string()),
            "exposed": pa.array(flat_exposed.astype(np.int8), pa.int8()),
            "position": pa.array(position.ravel().astype(np.int8), pa.int8(), mask=~flat_exposed),
            "propensity": pa.array(prop.ravel(), pa.float64()),
            "p_view_treated": pa.array(p1["view"].ravel(), pa.float64()),
            "p_view_control": pa.array(p0["view"].ravel(), pa.float64()),
            "p_purchase_treated": pa.array(p1["purchase"].ravel(), pa.float64()),
            "p_purchase_control": pa.array(p0["purchase"].ravel(), pa.float64()),
            "uplift": pa.array(uplift.ravel(), pa.float64()),
            "viewed": pa.array(view.ravel().astype(np.int8), pa.int8()),
            "clicked": pa.array(click.ravel().astype(np.int8), pa.int8()),
            "carted": pa.array(cart.ravel().astype(np.int8), pa.int8()),
            "favourited": pa.array(fav.ravel().astype(np.int8), pa.int8()),
            "purchased": pa.array(buy.ravel().astype(np.int8), pa.int8()),
            "user_activity": pa.array(np.repeat(activity, c), pa.float64()),
            "item_popularity": pa.array(items.popularity[cand.ravel()], pa.float64()),
        },
        schema=PAIRS_SCHEMA,
    )

    # ---- sufficient statistics for the ground truth (summed over blocks)
    p_obs = np.where(exposed, p1["purchase"], p0["purchase"])
    seg_full = np.broadcast_to(segment[:, None], (nb, c))
    stats = {
        "n_pairs": np.array(nb * c, dtype=float),
        "n_exposed": np.array(exposed.sum(), dtype=float),
        "sum_uplift": np.array(uplift.sum()),
        "sum_uplift_exposed": np.array(uplift[exposed].sum()),
        "sum_view_uplift": np.array((p1["view"] - p0["view"]).sum()),
        "seg_n": np.bincount(seg_full.ravel(), minlength=3).astype(float),
        "seg_uplift": np.bincount(seg_full.ravel(), weights=uplift.ravel(), minlength=3),
        "seg_view_uplift": np.bincount(
            seg_full.ravel(), weights=(p1["view"] - p0["view"]).ravel(), minlength=3
        ),
        "purchased_exposed": np.array(buy[exposed].sum(), dtype=float),
        "purchased_unexposed": np.array(buy[~exposed].sum(), dtype=float),
        "p_obs_exposed": np.array(p_obs[exposed].sum()),
        "p_obs_unexposed": np.array(p_obs[~exposed].sum()),
        "steps": np.array(
            [exposed.sum(), view.sum(), click.sum(), cart.sum(), fav.sum(), buy.sum()], dtype=float
        ),
        "events": np.bincount(events.code, minlength=len(EVENT_LABELS)).astype(float),
    }
    latent = inputs.ravel() if keep_latent else None
    return Block(users=users, pairs=pairs, events=events, stats=stats, latent=latent)
