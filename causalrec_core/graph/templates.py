"""Ready-made causal graphs for common recommender questions, and the simulator's true graph.

Each template is a small DAG with exactly one treatment and one outcome, roles and
descriptions on every node and ``origin="template"`` on every edge:

``exposure_bias``          does showing an item cause a purchase, when active users and popular
                           items are both shown more and buy more?
``position_bias``          does the slot an item is shown in cause the click, when the ranker puts
                           relevant items on top?
``popularity_conformity``  exposure → purchase when popularity drives exposure and (through
                           conformity) purchases, and an unobserved quality drives popularity.
``click_purchase_funnel``  exposure → view → click → cart → purchase, with activity, popularity
                           and an unobserved user interest confounding the funnel steps.
``marketing_uplift``       a campaign targeted by segment: segment → treatment, segment →
                           outcome, treatment → outcome.

:func:`build_template` binds the nodes to dataset columns whose names fit (``exposure`` ↔
``exposed``, ``purchase`` ↔ ``purchased``, ``user_activity`` ↔ ``n_events`` ...), and
:func:`simulator_template` turns the ``dag`` of the simulator's ``truth.json`` into a graph.

Examples
--------
>>> g = build_template("exposure_bias", columns=["user_id", "exposed", "purchased", "n_events"])
>>> g.nodes["exposure"]["column"], g.nodes["item_popularity"]["column"]
('exposed', None)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import networkx as nx

from causalrec_core.errors import GraphError, invalid_choice
from causalrec_core.graph.model import NODE_ROLES, from_dict, is_latent

__all__ = ["COLUMN_ALIASES", "TEMPLATES", "bind_columns", "build_template", "simulator_template",
           "template_names"]

# (name, role, latent, description) and (source, target, note)
_Node = tuple[str, str, bool, str]
_Edge = tuple[str, str, str]


def _graph(nodes: list[_Node], edges: list[_Edge]) -> nx.DiGraph:
    """Build a template through :func:`from_dict`, so it passes the same validation as user data."""
    return from_dict({
        "nodes": [{"name": n, "role": r, "latent": lat, "description": d} for n, r, lat, d in nodes],
        "edges": [{"source": a, "target": b, "origin": "template", "note": note} for a, b, note in edges],
    })


def _exposure_bias() -> nx.DiGraph:
    return _graph(
        [("user_activity", "confounder", False, "How active the user is (events or sessions per week)."),
         ("item_popularity", "confounder", False, "How popular the item is (users or events per item)."),
         ("exposure", "treatment", False, "The recommender showed the item to the user."),
         ("purchase", "outcome", False, "The user bought the item.")],
        [("user_activity", "exposure", "the logging policy shows more items to active users"),
         ("user_activity", "purchase", "active users buy more"),
         ("item_popularity", "exposure", "the logging policy favours popular items"),
         ("item_popularity", "purchase", "popular items sell more"),
         ("exposure", "purchase", "the effect of interest")],
    )


def _position_bias() -> nx.DiGraph:
    return _graph(
        [("relevance", "latent", True, "How well the item matches the user's need (unobserved)."),
         ("ranker_score", "confounder", False, "The logged ranker score that set the position."),
         ("position", "treatment", False, "The slot the item was shown in (1 = top)."),
         ("examination", "mediator", True, "The user looked at the slot (unobserved)."),
         ("click", "outcome", False, "The user clicked the item.")],
        [("relevance", "ranker_score", "the ranker estimates relevance"),
         ("ranker_score", "position", "the ranker sorts by its score"),
         ("position", "examination", "higher slots are examined more often"),
         ("examination", "click", "only examined items can be clicked"),
         ("relevance", "click", "relevant items are clicked more once examined")],
    )


def _popularity_conformity() -> nx.DiGraph:
    return _graph(
        [("item_quality", "latent", True, "The item's intrinsic quality (unobserved)."),
         ("item_popularity", "confounder", False, "How popular the item is (users or events per item)."),
         ("exposure", "treatment", False, "The recommender showed the item to the user."),
         ("purchase", "outcome", False, "The user bought the item.")],
        [("item_quality", "item_popularity", "good items become popular"),
         ("item_quality", "purchase", "good items are bought more"),
         ("item_popularity", "exposure", "the logging policy favours popular items"),
         ("item_popularity", "purchase", "conformity: users follow what others buy"),
         ("exposure", "purchase", "the effect of interest")],
    )


def _click_purchase_funnel() -> nx.DiGraph:
    return _graph(
        [("user_activity", "confounder", False, "How active the user is (events or sessions per week)."),
         ("item_popularity", "confounder", False, "How popular the item is (users or events per item)."),
         ("user_interest", "latent", True, "The user's affinity for the item (unobserved)."),
         ("exposure", "treatment", False, "The recommender showed the item to the user."),
         ("view", "mediator", False, "The user viewed the item."),
         ("click", "mediator", False, "The user clicked through."),
         ("cart", "mediator", False, "The user added the item to the cart."),
         ("purchase", "outcome", False, "The user bought the item.")],
        [("user_activity", "exposure", "the logging policy shows more items to active users"),
         ("user_activity", "view", "active users view more"),
         ("user_activity", "purchase", "active users buy more"),
         ("item_popularity", "exposure", "the logging policy favours popular items"),
         ("item_popularity", "view", "popular items attract views"),
         ("item_popularity", "purchase", "popular items sell more"),
         ("user_interest", "view", ""), ("user_interest", "click", ""),
         ("user_interest", "cart", ""), ("user_interest", "purchase", ""),
         ("exposure", "view", "funnel step"), ("view", "click", "funnel step"),
         ("click", "cart", "funnel step"), ("cart", "purchase", "funnel step")],
    )


def _marketing_uplift() -> nx.DiGraph:
    return _graph(
        [("segment", "confounder", False, "The customer segment the campaign was targeted by."),
         ("treatment", "treatment", False, "The customer received the campaign."),
         ("outcome", "outcome", False, "The customer converted.")],
        [("segment", "treatment", "targeting"),
         ("segment", "outcome", "segments differ in their base rate"),
         ("treatment", "outcome", "the uplift of interest")],
    )


TEMPLATES: Mapping[str, tuple[str, Callable[[], nx.DiGraph]]] = MappingProxyType({
    "exposure_bias": (
        "Exposure → purchase, confounded by user activity and item popularity.", _exposure_bias),
    "position_bias": (
        "Position → examination → click, with relevance (latent) driving both the ranker and the click.",
        _position_bias),
    "popularity_conformity": (
        "Exposure → purchase, with popularity (driven by latent quality) raising exposure and, "
        "through conformity, purchases.", _popularity_conformity),
    "click_purchase_funnel": (
        "Exposure → view → click → cart → purchase, confounded by activity, popularity and a latent "
        "user interest.", _click_purchase_funnel),
    "marketing_uplift": (
        "A campaign targeted by segment: segment → treatment, segment → outcome, treatment → outcome.",
        _marketing_uplift),
})
"""Template name → (one-line description, builder). Read-only."""

COLUMN_ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "exposure": ("exposed", "is_exposed", "shown", "impression"),
    "purchase": ("purchased", "n_purchase", "bought"),
    "view": ("viewed", "n_view"),
    "click": ("clicked", "n_click"),
    "cart": ("carted", "n_cart"),
    "fav": ("favourited", "favorited", "n_fav"),
    "user_activity": ("activity", "n_events"),
    "item_popularity": ("popularity", "n_users"),
    "position": ("rank", "slot"),
    "ranker_score": ("score", "rank_score"),
    "propensity": ("pscore", "propensity_score"),
    "segment": ("user_segment",),
    "treatment": ("treated", "campaign"),
    "outcome": ("converted", "conversion"),
})
"""Node name → further column names it binds to, in order of preference (after its own name)."""


def _norm(text: str) -> str:
    return "_".join(text.strip().lower().replace("-", " ").split())


def template_names() -> list[str]:
    """The template names, in registry order."""
    return list(TEMPLATES)


def bind_columns(graph: nx.DiGraph, columns: Iterable[str] | None) -> nx.DiGraph:
    """Return a copy of ``graph`` where each observed node's ``column`` is the first of its own
    name and its :data:`COLUMN_ALIASES` found in ``columns`` (case, spaces and hyphens ignored),
    else None. A column binds at most one node; latent nodes never bind one.
    """
    cols = [c for c in (columns or []) if isinstance(c, str)]
    by_norm: dict[str, str] = {}
    for col in cols:
        by_norm.setdefault(_norm(col), col)
    used: set[str] = set()
    out = graph.copy()
    for node in out.nodes:
        column = None
        if not is_latent(out, node):
            for cand in (node, *COLUMN_ALIASES.get(node, ())):
                hit = by_norm.get(_norm(cand))
                if hit is not None and hit not in used:
                    column = hit
                    used.add(hit)
                    break
        out.nodes[node]["column"] = column
    return out


def build_template(name: str, columns: Iterable[str] | None = None) -> nx.DiGraph:
    """A fresh copy of the template ``name``, its nodes bound to ``columns`` where names fit.

    Parameters
    ----------
    name : str
        One of :data:`TEMPLATES`.
    columns : list of str, optional
        The dataset's column names (event labels such as ``"purchase"`` count as columns too).

    Raises
    ------
    ParameterError
        ``name`` is not a template.
    """
    if name not in TEMPLATES:
        raise invalid_choice("template", name, TEMPLATES)
    return bind_columns(TEMPLATES[name][1](), columns)


# The simulator's truth uses two roles of its own; they carry no identification meaning here.
_SIMULATOR_ROLES: Mapping[str, str] = MappingProxyType({"covariate": "variable", "effect_modifier": "variable"})


def simulator_template(truth: Mapping[str, Any]) -> nx.DiGraph:
    """The true causal graph of a simulated dataset.

    Parameters
    ----------
    truth : dict
        The parsed ``truth.json`` of the simulator, or just its ``"dag"`` entry: ``nodes``
        (name, role, observed, column, description) and ``edges`` ([source, target] pairs).
        Roles ``covariate`` and ``effect_modifier`` become ``variable``; unobserved nodes are
        latent (role ``latent`` is kept) and bind no column.

    Raises
    ------
    GraphError
        The dag is missing or malformed, a role is unknown, or the treatment / outcome named by
        the truth disagree with the node roles.
    """
    dag = truth.get("dag", truth) if isinstance(truth, Mapping) else None
    if not isinstance(dag, Mapping) or not isinstance(dag.get("nodes"), list) \
            or not isinstance(dag.get("edges"), list):
        raise GraphError("truth must be the simulator's truth.json (or its 'dag'), with 'nodes' and 'edges' lists.")
    nodes = []
    for i, node in enumerate(dag["nodes"]):
        if not isinstance(node, Mapping) or "name" not in node:
            raise GraphError(f"dag.nodes[{i}] must be an object with a 'name'; got {node!r}.")
        role = node.get("role") or "variable"
        role = _SIMULATOR_ROLES.get(role, role)
        if role not in NODE_ROLES:
            raise GraphError(f"node {node['name']!r} of the simulator dag has role={role!r}, which is "
                             f"not supported; choose one of: {', '.join(map(repr, NODE_ROLES))}.")
        latent = not node.get("observed", True)
        nodes.append({"name": node["name"], "role": role, "latent": latent,
                      "column": None if latent else node.get("column"),
                      "description": node.get("description") or ""})
    edges = []
    for i, edge in enumerate(dag["edges"]):
        if isinstance(edge, Mapping):
            edge = (edge.get("source"), edge.get("target"))
        if not isinstance(edge, (list, tuple)) or len(edge) != 2:
            raise GraphError(f"dag.edges[{i}] must be a [source, target] pair; got {edge!r}.")
        edges.append({"source": edge[0], "target": edge[1], "origin": "template", "note": "simulator truth"})
    graph = from_dict({"nodes": nodes, "edges": edges})
    for role in ("treatment", "outcome"):
        named = dag.get(role)
        if named is not None and (named not in graph or graph.nodes[named]["role"] != role):
            raise GraphError(f"the simulator dag names {role}={named!r}, but that node does not have role {role!r}.")
    return graph
