"""Plotly figures built from a dataset's stored profile (pure functions: dict -> figure)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from causalrec_core.data.profile import funnel_rates
from causalrec_core.data.schema import CANONICAL_EVENTS, PROFILE_FUNNEL, SIDE_ACTIONS


def plot_text(text: object) -> str:
    """``text`` for a Plotly label, shown as written: Plotly renders a few HTML tags (``<b>``, ``<a>``,
    ``<br>`` …) in titles, ticks and legends, so a user's ``<b>run</b>`` must be escaped (the rest of
    the page shows it literally)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def funnel_steps(profile: dict) -> list[str]:
    """The funnel steps in funnel order (exposure → view → … → purchase), from the event counts (so a
    profile stored with sorted keys, or by a version whose funnel had 'fav' as a step, reads the same)."""
    return funnel_rates(profile["events"])[0]


def events_in_order(profile: dict) -> list[tuple[str, int]]:
    """(canonical event, count) in the funnel's order, then the side actions (fav), then the rest of
    the canonical events (rating, other), whatever the stored key order."""
    events = profile["events"]
    order = [*PROFILE_FUNNEL, *SIDE_ACTIONS, *(e for e in CANONICAL_EVENTS if e not in PROFILE_FUNNEL + SIDE_ACTIONS)]
    return [(e, events[e]) for e in order if e in events] + [
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
    steps, rate, _ = funnel_rates(events)
    counts = [events[s] for s in steps]
    first = events[steps[0]] if steps else 0
    labels = [
        plot_text(s) + f": {_n(events[s], 'event')}" + ("" if i == 0
                                        else f" ({rate[s]:.1%} of {plot_text(steps[i - 1])}"
                                             + (f", {events[s] / first:.1%} of {plot_text(steps[0])})" if i >= 2 else ")"))
        for i, s in enumerate(steps)
    ]
    fig = go.Figure(go.Funnel(y=[plot_text(x) for x in steps], x=counts, text=labels, textinfo="text",
                              hovertemplate="%{y}: %{x:,} events<extra></extra>"))
    fig.update_layout(title={"text": "Funnel: events per step", "subtitle": {
                          "text": "rates: of the previous step, and of the first step; steps need not be sequential, "
                                  "so a rate can exceed 100%"}},
                      margin=dict(l=10, r=10, t=70, b=10), height=360)
    return fig


def _n(count: int, noun: str) -> str:
    """'1 event', '2,798 events'."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def options_text(options: dict) -> str:
    """The cleaning options in words (the action of each rule is in the report table itself)."""
    bots = options.get("bot_threshold")
    return ("Bot threshold: " + (f"{int(bots):,} events per user, set by hand" if bots else "automatic")
            + "; the action of each rule (keep and flag, or drop) is in the table above.")


def funnel_frame(profile: dict) -> pd.DataFrame:
    """The funnel as a table: events, conversion from the previous step, share of the first step's
    events and the users with at least one event of each step — not users who went through the earlier
    steps (None where a stored profile did not count them)."""
    events = profile["events"]
    steps, rate, from_first = funnel_rates(events)
    users = profile.get("funnel_users") or {}
    first = steps[0] if steps else "first step"
    return pd.DataFrame({"step": steps, "events": [events[s] for s in steps],
                         "conversion from previous step": [rate[s] for s in steps],
                         f"share of {first} events": [from_first[s] for s in steps],
                         "users with this event": [users.get(s) for s in steps]})


def side_action_text(profile: dict) -> str:
    """One sentence on the actions beside the funnel (fav): their events and users, and per view event."""
    events = profile["events"]
    side = profile.get("side_actions") or {}
    parts = []
    for s in SIDE_ACTIONS:
        if not events.get(s):
            continue
        users = (side.get(s) or {}).get("users", (profile.get("funnel_users") or {}).get(s))
        part = f"{s}: {_n(events[s], 'event')}" + (f" by {_n(users, 'user')}" if users is not None else "")
        if events.get("view"):
            part += f" ({events[s] / events['view']:.1%} of view events)"
        parts.append(part)
    if not parts:
        return ""
    return "Not a funnel step (a favourite is not on the way to a purchase): " + "; ".join(parts) + "."


def events_over_time(profile: dict) -> go.Figure:
    eot = profile["events_over_time"]
    df = pd.DataFrame(eot["rows"])
    if "event" in df.columns:
        df["event"] = df["event"].map(plot_text)
    fig = px.line(df, x="period", y="events", color="event", markers=len(df) < 200,
                  title=f"Events per {eot['unit']} (UTC)")
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=10), height=340, legend_title_text="event")
    return fig


def popularity_long_tail(profile: dict) -> go.Figure:
    df = pd.DataFrame(profile["popularity_curve"], columns=["rank", "events"])
    fig = px.line(df, x="rank", y="events", log_x=True, log_y=True)
    # a short title the chart's toolbar does not cover; the figures in a subtitle line
    fig.update_layout(title={"text": "Item popularity long tail", "subtitle": {
                          "text": f"Gini {profile['gini_items']:.3f}; the top 10% of items hold "
                                  f"{profile['top_share']['top_10pct']:.1%} of the events"}},
                      margin=dict(l=10, r=10, t=70, b=10), height=340,
                      xaxis_title="item rank (1 = most events)", yaxis_title="events")
    fig.update_xaxes(dtick=1)  # log axes: label the powers of ten only, not every minor tick
    fig.update_yaxes(dtick=1)
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
    fig = px.bar(df, x="bucket", y="users")
    # a short title the chart's toolbar does not cover; the figures in a subtitle line
    fig.update_layout(title={"text": "User activity: events per user", "subtitle": {
                          "text": f"median {q['p50']:,.0f}, 90th percentile {q['p90']:,.0f}, "
                                  f"most active user {profile['user_activity']['max']:,}"}},
                      xaxis_title="events per user (log2 buckets)", yaxis_title="users", height=340,
                      margin=dict(l=10, r=10, t=70, b=10))
    return fig


# ============================================================================ effects

_EFFECT_MARGIN = dict(l=10, r=10, t=50, b=10)


def forest_plot(results: list[dict], label: str, outcome: str, truth_ate: float | None = None) -> go.Figure:
    """Each estimator's ATE with its interval (one row each, the first estimator on top), 0 and,
    when known, the simulator's true ATE (a dashed line; its value is in the legend, above the plot)."""
    level = results[0].get("level", 0.95) if results else 0.95
    names = [r["method"] + (" (unadjusted)" if r["method"] == "naive" else "") for r in results]
    fig = go.Figure(go.Scatter(
        x=[r["estimate"] for r in results], y=names, mode="markers", name=f"estimate ({level:.0%} CI)",
        marker=dict(size=10), showlegend=True,
        customdata=[[r["ci_low"], r["ci_high"]] for r in results],
        hovertemplate="%{y}: %{x:.4f} (CI %{customdata[0]:.4f} to %{customdata[1]:.4f})<extra></extra>",
        error_x={"type": "data", "symmetric": False, "array": [r["ci_high"] - r["estimate"] for r in results],
                 "arrayminus": [r["estimate"] - r["ci_low"] for r in results]}))
    fig.add_vline(x=0, line_color="grey", line_width=1)
    if truth_ate is not None:
        # The line's label and value go in the legend, above the plot, not over an estimator's row.
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"true ATE (simulator) = {truth_ate:.4f}",
                                 line=dict(color="green", dash="dash")))
        fig.add_vline(x=truth_ate, line_dash="dash", line_color="green")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(xaxis_title=plot_text(f"{label} (difference in P({outcome}=1))"), yaxis_title="estimator",
                      height=170 + 60 * len(results), margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0))
    return fig


def propensity_overlap(histogram: pd.DataFrame, *, source: str, trim: float, n_trimmed: int, n: int) -> go.Figure:
    """Share of each treatment group per propensity bin (overlaid bars), with the trimming bounds."""
    mid = (histogram["bin_left"] + histogram["bin_right"]) / 2
    width = float((histogram["bin_right"] - histogram["bin_left"]).iloc[0]) if len(histogram) else 0.05
    fig = go.Figure([
        go.Bar(x=mid, y=histogram["share_treated"], width=width, name="treated", opacity=0.55,
               marker_color="#d62728",
               customdata=histogram["n_treated"], hovertemplate="e≈%{x:.3f}: %{y:.1%} of treated (%{customdata:,})"
                                                                "<extra></extra>"),
        go.Bar(x=mid, y=histogram["share_control"], width=width, name="control", opacity=0.55,
               marker_color="#1f77b4",
               customdata=histogram["n_control"], hovertemplate="e≈%{x:.3f}: %{y:.1%} of controls (%{customdata:,})"
                                                                "<extra></extra>"),
    ])
    for x in (trim, 1 - trim):
        fig.add_vline(x=x, line_dash="dot", line_color="red")
    fig.update_layout(barmode="overlay", height=340, margin=_EFFECT_MARGIN, xaxis_range=[0, 1],
                      title=f"Propensity overlap ({source}): trimming at {trim:g} / {1 - trim:g} would remove "
                            f"{n_trimmed:,} of {n:,} units",
                      xaxis_title="propensity P(treated | covariates)", yaxis_title="share of the group")
    return fig


def covariate_balance(balance: pd.DataFrame, threshold: float = 0.1) -> go.Figure:
    """|SMD| of each covariate before and after inverse-propensity weighting, with the threshold line."""
    names = [plot_text(i) for i in balance.index]
    traces = [go.Scatter(x=balance["smd"].abs(), y=names, mode="markers", name="before weighting",
                         marker=dict(symbol="circle-open", size=11))]
    if "smd_weighted" in balance.columns:
        traces.append(go.Scatter(x=balance["smd_weighted"].abs(), y=names, mode="markers", name="after weighting",
                                 marker=dict(symbol="circle", size=9)))
    fig = go.Figure(traces)
    fig.add_vline(x=threshold, line_dash="dash", line_color="red", annotation_text=f"|SMD| = {threshold:g}")
    fig.update_layout(title="Covariate balance: |standardised mean difference| treated vs control",
                      xaxis_title="|SMD|", yaxis_title="covariate", height=140 + 40 * len(names),
                      margin=_EFFECT_MARGIN)
    return fig


def segment_effects(by_segment: pd.DataFrame, label: str, truth: dict[str, float] | None = None) -> go.Figure:
    """Estimated ATE per segment (bars with 95% intervals), with the true per-segment ATE beside it."""
    raw = by_segment["segment"].astype(str)
    seg = raw.map(plot_text)
    traces = [go.Bar(x=seg, y=by_segment["mean"], name="estimate (95% CI)",
                     error_y={"type": "data", "symmetric": False,
                              "array": by_segment["ci_high"] - by_segment["mean"],
                              "arrayminus": by_segment["mean"] - by_segment["ci_low"]})]
    if truth:
        traces.append(go.Bar(x=seg, y=[truth.get(s) for s in raw], name="true ATE (simulator)",
                             marker_color="green", opacity=0.7))
    fig = go.Figure(traces)
    fig.update_layout(barmode="group", title=plot_text(label), xaxis_title="segment", yaxis_title="ATE in the segment",
                      height=360, margin=_EFFECT_MARGIN)
    return fig


def qini(curve: pd.DataFrame, auuc: float | None) -> go.Figure:
    """The Qini curve against random targeting; the AUUC in the title."""
    fig = go.Figure([
        go.Scatter(x=curve["fraction"], y=curve["qini"], mode="lines", name="model ranking"),
        go.Scatter(x=curve["fraction"], y=curve["random"], mode="lines", name="random targeting",
                   line=dict(dash="dot")),
    ])
    fig.update_layout(title="Qini curve" + (f" (AUUC {auuc:.4g} per unit)" if auuc is not None else ""),
                      xaxis_title="fraction of units targeted (highest estimated effect first)",
                      yaxis_title="cumulative incremental outcomes (IPW)", height=340, margin=_EFFECT_MARGIN)
    return fig
