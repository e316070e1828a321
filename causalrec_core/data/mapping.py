"""Column mapping (raw columns -> canonical roles) and event-label mapping.

Suggestions come first from column names (a synonym table), then from content (a column of
parseable times, a low-cardinality column of known event labels, high-cardinality id columns).
The user can override every suggestion; :func:`validate_mapping` checks the final choice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from causalrec_core.data.schema import CANONICAL_EVENTS, OPTIONAL_ROLES, REQUIRED_ROLES, ROLES
from causalrec_core.errors import DataError, ParameterError, invalid_choice

_ROLE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "user": ("user_id", "userid", "uid", "user", "visitor_id", "visitorid", "visitor", "customer_id",
             "customerid", "customer", "member_id", "client_id", "account_id", "session_user",
             "用户id", "用户", "user_key", "reviewer_id", "reviewerid"),
    "item": ("item_id", "itemid", "iid", "item", "product_id", "productid", "product", "sku",
             "goods_id", "article_id", "movie_id", "movieid", "content_id", "asin", "商品id",
             "商品", "item_key", "offer_id"),
    "timestamp": ("timestamp", "ts", "time", "datetime", "date", "event_time", "eventtime",
                  "created_at", "time_stamp", "unix_time", "unixtime", "event_timestamp",
                  "时间", "时间戳", "occurred_at"),
    "event": ("event", "event_type", "eventtype", "behavior", "behaviour", "behavior_type",
              "behaviour_type", "action", "action_type", "type", "interaction", "interaction_type",
              "行为", "行为类型", "event_name"),
    "value": ("value", "rating", "score", "price", "amount", "dwell", "dwell_time", "revenue",
              "stars", "评分"),
    "exposed": ("exposed", "exposure", "is_exposed", "impressed", "shown", "was_shown"),
    "position": ("position", "pos", "rank", "slot", "display_position"),
    "propensity": ("propensity", "propensity_score", "pscore", "logging_prob", "action_prob",
                   "prob", "probability"),
}

#: Common raw labels and the canonical event they mean.
EVENT_SYNONYMS: dict[str, str] = {}
for _canon, _labels in {
    "exposure": ("exposure", "impression", "impr", "imp", "show", "shown", "expose", "display"),
    "view": ("view", "pv", "page_view", "pageview", "detail", "detail_view", "browse", "visit",
             "浏览", "点击浏览"),
    "click": ("click", "clk", "tap", "clicked", "点击"),
    "cart": ("cart", "addtocart", "add_to_cart", "add-to-cart", "basket", "add_cart", "加购",
             "加入购物车"),
    "fav": ("fav", "favorite", "favourite", "like", "wishlist", "save", "collect", "bookmark",
            "收藏"),
    "purchase": ("purchase", "buy", "order", "transaction", "checkout", "conversion", "pay",
                 "bought", "purchased", "购买", "下单"),
    "rating": ("rating", "rate", "review", "rated"),
}.items():
    for _lab in _labels:
        EVENT_SYNONYMS[_lab] = _canon

#: French, German, Spanish and Italian labels (written without accents: labels are compared with their
#: accents folded, so 'Détail' and 'añadir_al_carrito' match too)
for _canon, _labels in {
    "exposure": ("affichage", "affichages", "affiche", "einblendung", "einblendungen", "impresion", "impressione", "visualizzazione_annuncio"),
    "view": ("vue", "vues", "consulte", "consultation", "consultations", "visualisation", "vue_produit", "vue_detail", "fiche_produit",
             "ansicht", "aufruf", "seitenaufruf", "produktansicht", "vista", "visita", "vista_producto",
             "visualizacion", "visualizzazione", "dettaglio", "vista_prodotto"),
    "click": ("clic", "clics", "klick", "klicks", "clique", "cliques", "clicado"),
    "cart": ("panier", "paniers", "ajout_panier", "ajout_au_panier", "mise_au_panier", "warenkorb", "in_den_warenkorb",
             "carrito", "anadir_al_carrito", "agregar_al_carrito", "cesta", "carrello", "aggiungi_al_carrello"),
    "fav": ("favori", "favoris", "favorit", "favoriten", "merkliste", "wunschliste", "favorito", "favoritos",
            "preferito", "preferiti", "me_gusta", "mi_piace", "j_aime"),
    "purchase": ("achat", "achats", "achete", "commande", "commandes", "paiement", "kauf", "gekauft", "bestellung", "kaufen", "compra", "comprar",
                 "pedido", "acquisto", "ordine", "pagamento", "pago"),
    "rating": ("avis", "bewertung", "valoracion", "resena", "valutazione", "recensione"),
}.items():
    for _lab in _labels:
        EVENT_SYNONYMS.setdefault(_lab, _canon)


def _fold_accents(text: str) -> str:
    """'Détail' -> 'Detail', 'añadir' -> 'anadir' (so accented labels meet their synonyms; CJK text is kept)."""
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "_", _fold_accents(str(name).strip().lower())).strip("_")


def role_for_name(name: str) -> str | None:
    """The role a column name suggests, or None (``'UserID'`` -> ``'user'``)."""
    n = _norm(name)
    for role, syns in _ROLE_SYNONYMS.items():
        if n in syns or n.replace("_", "") in {s.replace("_", "") for s in syns}:
            return role
    return None


def canonical_event(label: object) -> str | None:
    """The canonical event of a raw label, or None when it is unknown."""
    if label is None or (isinstance(label, float) and label != label):
        return None
    key = _norm(str(label))
    if key in EVENT_SYNONYMS:
        return EVENT_SYNONYMS[key]
    compact = key.replace("_", "")
    for lab, canon in EVENT_SYNONYMS.items():
        if compact == lab.replace("_", "").replace("-", ""):
            return canon
    return None


def suggest_event_map(labels: Iterable[object]) -> dict[str, str | None]:
    """Map each distinct raw label to a canonical event (None = unknown)."""
    return {str(lab): canonical_event(lab) for lab in labels if lab is not None and str(lab) != ""}


def validate_event_map(event_map: Mapping[str, str | None]) -> dict[str, str | None]:
    """Check that every target is a canonical event (or None for 'unknown')."""
    out = {}
    for raw, canon in event_map.items():
        if canon not in (None, *CANONICAL_EVENTS):
            raise invalid_choice(f"event_map[{raw!r}]", canon, CANONICAL_EVENTS)
        out[str(raw)] = canon
    return out


# --- timestamps ---------------------------------------------------------------------------

#: strptime formats tried (in this order) for text timestamps that are not ISO-8601.
TIME_FORMATS: tuple[str, ...] = (
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
    "%d/%m/%Y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%Y%m%d%H%M%S", "%Y%m%d",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S.%f", "%d-%b-%Y %H:%M:%S", "%d %b %Y",
)


@dataclass(frozen=True)
class TimeParse:
    """How a timestamp column is parsed: ``kind`` is 'epoch' (with ``unit`` s/ms/us) or 'text'
    (ISO-8601 when ``fmt`` is None, else a strptime format)."""

    kind: str
    unit: str | None = None
    fmt: str | None = None
    parsed_share: float = 0.0

    def describe(self) -> str:
        if self.kind == "epoch":
            return {"s": "epoch seconds", "ms": "epoch milliseconds", "us": "epoch microseconds"}[self.unit]
        return "ISO-8601 text" if self.fmt is None else f"text in format {self.fmt}"


def _epoch_unit(values: pd.Series) -> str:
    med = float(values.abs().median())
    if med < 1e11:
        return "s"
    if med < 1e14:
        return "ms"
    return "us"


def detect_time_parse(sample: pd.Series) -> TimeParse:
    """Choose how to parse a timestamp column from a sample of its text values."""
    s = sample.dropna().astype(str).str.strip()
    s = s[s != ""]
    if s.empty:
        return TimeParse(kind="text", parsed_share=0.0)
    num = pd.to_numeric(s, errors="coerce")
    num_share = float(num.notna().mean())
    if num_share >= 0.5:
        nums = num.dropna()
        # Small integers like 20240105 are dates written as numbers, not epochs.
        if nums.between(19000101, 21001231).mean() > 0.9 and (nums % 1 == 0).all():
            return TimeParse(kind="text", fmt="%Y%m%d", parsed_share=num_share)
        return TimeParse(kind="epoch", unit=_epoch_unit(nums), parsed_share=num_share)
    best = TimeParse(kind="text", fmt=None,
                     parsed_share=float(pd.to_datetime(s, errors="coerce", utc=True,
                                                       format="ISO8601").notna().mean()))
    if best.parsed_share >= 0.99:
        return best
    for fmt in TIME_FORMATS:
        share = float(pd.to_datetime(s, errors="coerce", format=fmt).notna().mean())
        if share > best.parsed_share + 1e-9:
            best = TimeParse(kind="text", fmt=fmt, parsed_share=share)
    return best


# --- column mapping -----------------------------------------------------------------------

#: The roles every import must map to a column (the event is optional: every row is a view without it).
MAPPING_REQUIRED: tuple[str, ...] = ("user", "item", "timestamp")
_ROLE_WHAT = {"user": "the user id", "item": "the item id", "timestamp": "the timestamp"}


class UnmappedRoleError(DataError):
    """No column is mapped to the required ``role``.

    The message is neutral (it does not assume the CLI or the Data page); ``role`` and
    ``columns`` (the file's columns) let a front end add its own way of mapping one.
    """

    def __init__(self, message: str, role: str | None = None, columns: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.role = role
        self.columns = tuple(columns)


@dataclass(frozen=True)
class Suggestion:
    role: str
    column: str | None
    reason: str


def _content_guesses(df: pd.DataFrame, taken: set[str],
                     needed: Iterable[str] = REQUIRED_ROLES) -> dict[str, Suggestion]:
    """Guess roles from values for columns whose names gave nothing (``needed``: roles still open)."""
    out: dict[str, Suggestion] = {}
    free = [c for c in df.columns if c not in taken]
    # timestamp: most parseable column among plausible ones
    best_t, best_share = None, 0.0
    for c in free:
        vals = df[c].dropna().astype(str)
        if vals.empty:
            continue
        tp = detect_time_parse(vals)
        if tp.kind == "epoch":
            num = pd.to_numeric(vals, errors="coerce").dropna()
            scale = {"s": 1, "ms": 1e3, "us": 1e6}[tp.unit]
            ok = float(((num / scale) > 5e8).mean() * ((num / scale) < 4.2e9).mean())
            share = tp.parsed_share * ok
        else:
            share = tp.parsed_share
        if share > best_share:
            best_t, best_share = c, share
    if best_t is not None and best_share >= 0.8:
        out["timestamp"] = Suggestion("timestamp", best_t, f"{best_share:.0%} of values parse as times")
        free.remove(best_t)
    # event: low-cardinality text whose values are known labels
    best_e, best_share = None, 0.0
    for c in free:
        vals = df[c].dropna().astype(str)
        if vals.empty or vals.nunique() > 50:
            continue
        share = float(vals.map(lambda v: canonical_event(v) is not None).mean())
        if share > best_share:
            best_e, best_share = c, share
    if best_e is not None and best_share >= 0.5:
        out["event"] = Suggestion("event", best_e, f"{best_share:.0%} of values are known event labels")
        free.remove(best_e)
    # ids: remaining columns with many distinct values, in file order
    ids = [c for c in free if df[c].dropna().nunique() >= max(2, 0.05 * len(df))]
    for role, col in zip([r for r in ("user", "item") if r in needed], ids, strict=False):
        out[role] = Suggestion(role, col, "many distinct values (in file order: user, then item)")
    return out


def suggest_mapping(df: pd.DataFrame) -> dict[str, Suggestion]:
    """Suggest a column for every role from a preview frame (names first, then content)."""
    result: dict[str, Suggestion] = {}
    used: set[str] = set()
    for col in df.columns:
        role = role_for_name(col)
        if role and role not in result:
            result[role] = Suggestion(role, col, f"column name {col!r}")
            used.add(col)
    missing_required = [r for r in REQUIRED_ROLES if r not in result]
    if missing_required:
        for role, sug in _content_guesses(df, set(used), missing_required).items():
            if role not in result and role in missing_required:
                result[role] = sug
                used.add(sug.column)
    for role in ROLES:
        result.setdefault(role, Suggestion(role, None, "no matching column"))
    return result


def validate_mapping(mapping: Mapping[str, str | None], columns: Iterable[str]) -> dict[str, str]:
    """Check a role -> column mapping against the file's columns.

    Raises
    ------
    ParameterError
        Unknown role, unknown column, or one column used for two roles.
    UnmappedRoleError
        No column for the user id, the item id or the timestamp (a :class:`DataError`).
    """
    cols = list(columns)
    clean: dict[str, str] = {}
    for role, col in mapping.items():
        if role not in ROLES:
            raise invalid_choice("mapping role", role, ROLES)
        if col in (None, ""):
            continue
        if col not in cols:
            raise ParameterError(
                f"mapping[{role!r}]={col!r} is not a column of the file; choose one of: "
                + ", ".join(map(repr, cols)) + "."
            )
        clean[role] = col
    for role in MAPPING_REQUIRED:
        if role not in clean:
            raise UnmappedRoleError(
                f"No column is mapped to {_ROLE_WHAT[role]} (role {role!r}); the file's columns are: "
                + ", ".join(map(repr, cols)) + f". Map one of them to the role {role!r}.",
                role, cols)
    seen: dict[str, str] = {}
    for role, col in clean.items():
        if col in seen:
            raise ParameterError(
                f"mapping uses column {col!r} for both {seen[col]!r} and {role!r}; each column may "
                "have one role."
            )
        seen[col] = role
    return clean


def parse_mapping_arg(text: str) -> dict[str, str]:
    """Parse the CLI's ``user=COL,item=COL,...`` into a dict."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise ParameterError(
                f"--map entry {part!r} is invalid: it must be ROLE=COLUMN with ROLE one of: "
                + ", ".join(ROLES) + "."
            )
        role, col = (x.strip() for x in part.split("=", 1))
        if role not in ROLES:
            raise invalid_choice("--map role", role, ROLES)
        out[role] = col
    return out


__all__ = [
    "EVENT_SYNONYMS", "MAPPING_REQUIRED", "OPTIONAL_ROLES", "Suggestion", "TimeParse", "UnmappedRoleError",
    "canonical_event",
    "detect_time_parse", "parse_mapping_arg", "role_for_name", "suggest_event_map",
    "suggest_mapping", "validate_event_map", "validate_mapping",
]
