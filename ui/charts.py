"""Plotly figures built from a dataset's stored profile (pure functions: dict -> figure)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from causalrec_core.data.schema import CANONICAL_EVENTS, FUNNEL


def funnel_steps(profile: dict) -> list[str]:
    """The funnel steps in funnel order (view → … → purchase).

    The store saves the profile as JSON with sorted keys, so the order of ``profile['funnel']``
    is alphabetical once a dataset is loaded; the rates are relative to the previous step in
    *funnel* order.
    """
    steps = profile["funnel"]
    return [s for s in FUNNEL if s in steps] + [s for s in steps if s not in FUNNEL]


def events_in_order(profile: dict) -> list[tuple[str, int]]:
    """(canonical event, count) in the canonical order, whatever the stored key order."""
    events = profile["events"]
    return [(e, events[e]) for e in CANONICAL_EVENTS if e in events] + [
        (e, n) for e, n in events.items() if e not in CANONICAL_EVENTS]


def short_percent(share: float | None) -> str:
    """A share as a percent short enough for a metric tile (the full value goes in its help)."""
    if share is None:
        return "n/a"
    if 0.9999 < share < 1:
        return ">99.99%"
    return f"{share:.2%}"


def funnel(profile: dict) -> go.Figure:
    events = profile["events"]
    steps = funnel_steps(profile)
    counts = [events[s] for s in steps]
    first = events[steps[0]] if steps else 0
    labels = [
        f"{s}: {events[s]:,} events" + ("" if i == 0 or profile['funnel'][s] is None
                                        else f" ({profile['funnel'][s]:.1%} of {steps[i - 1]}"
                                             + (f", {events[s] / first:.1%} of {steps[0]})" if i >= 2 else ")"))
        for i, s in enumerate(steps)
    ]
    fig = go.Figure(go.Funnel(y=steps, x=counts, text=labels, textinfo="text",
                              hovertemplate="%{y}: %{x:,} events<extra></extra>"))
    fig.update_layout(title="Funnel: events per step (rates: of the previous step, and of the first step; steps "
                            "need not be sequential, so a rate can exceed 100%)",
                      margin=dict(l=10, r=10, t=50, b=10), height=340)
    return fig


def events_over_time(profile: dict) -> go.Figure:
    eot = profile["events_over_time"]
    df = pd.DataFrame(eot["rows"])
    fig = px.line(df, x="period", y="events", color="event", markers=len(df) < 200,
                  title=f"Events per {eot['unit']} (UTC)")
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=10), height=340, legend_title_text="event")
    return fig


def popularity_long_tail(profile: dict) -> go.Figure:
    df = pd.DataFrame(profile["popularity_curve"], columns=["rank", "events"])
    fig = px.line(df, x="rank", y="events", log_x=True, log_y=True,
                  title=f"Item popularity long tail (Gini {profile['gini_items']:.3f}; top 10% of items "
                        f"hold {profile['top_share']['top_10pct']:.1%} of events)")
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=10), height=340,
                      xaxis_title="item rank (1 = most events)", yaxis_title="events")
    return fig


def lorenz(profile: dict) -> go.Figure:
    df = pd.DataFrame(profile["lorenz"], columns=["share_items", "share_events"])
    fig = go.Figure([
        go.Scatter(x=df.share_items, y=df.share_events, mode="lines", name="items, least popular first"),
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect equality", line=dict(dash="dot")),
    ])
    fig.update_layout(title="Lorenz curve of item popularity", xaxis_title="share of items",
                      yaxis_title="share of events", height=340, margin=dict(l=10, r=10, t=50, b=10))
    return fig


def user_activity(profile: dict) -> go.Figure:
    df = pd.DataFrame(profile["user_activity"]["histogram"])
    df["bucket"] = df.apply(lambda r: f"{r.events_from}–{r.events_to}", axis=1)
    q = profile["user_activity"]["quantiles"]
    fig = px.bar(df, x="bucket", y="users",
                 title=f"User activity: events per user (median {q['p50']:.0f}, p90 {q['p90']:.0f}, "
                       f"max {profile['user_activity']['max']:,})")
    fig.update_layout(xaxis_title="events per user (log2 buckets)", height=340,
                      margin=dict(l=10, r=10, t=50, b=10))
    return fig
