"""The market as a network: lenders, platforms and intermediaries; edge width = money that has flowed.

Edges: lender -> platform, principal lent to the platform's users and shops (both loan books);
intermediary -> platform, ad money paid (the platform's intermediary-ad revenue, shared by budget);
intermediary -> lender, what its clients still owe the lender (outstanding and written-off claims).
Flows (lent, ad money, revenue, fees) count recorded days only, from day 1 as the day counter, the time charts
and the command line's outputs do: the unrecorded burn-in is left out. Claims and equity are today's.
Positions come from `networkx.multipartite_layout` (lenders left, platforms middle, intermediaries right).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from sim.app import charts

if TYPE_CHECKING:
    from sim.app.session import Run
    from sim.model import MarketModel

KIND_STYLE = {
    "lender": ("#4e79a7", "roundRect", 0),
    "platform": ("#f28e2b", "circle", 1),
    "intermediary": ("#9467bd", "triangle", 2),
}
EDGE_COLORS = {"lends": "#4e79a7", "ads": "#9467bd", "claims": "#b30000"}
LABEL_BOX = {"backgroundColor": "rgba(255,255,255,0.8)", "padding": [1, 3], "borderRadius": 3}
"""Behind a label, so it stays readable where edges cross it."""


def money(x: float) -> str:
    """A short RMB amount: 950, 12k, 3.4M."""
    x = float(x)
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(x) >= size:
            return f"{x / size:.1f}{unit}"
    return f"{x:.0f}"


def lent_by_lender_platform(model: MarketModel) -> np.ndarray:
    """Principal lent on recorded days, lenders x platforms (loans without a platform are left out)."""
    n_l, n_p = len(model.lender_list), len(model.platform_list)
    out = np.zeros((n_l, n_p))
    for book in (model.credit.consumer, model.credit.merchant):
        n = book.n
        lender, platform = book.lender[:n].astype(np.int64), book.platform[:n].astype(np.int64)
        recorded = book.start_day[:n] >= model.scenario.burn_in_days
        ok = recorded & (lender >= 0) & (platform >= 0) & (lender < n_l) & (platform < n_p)
        flat = np.bincount(lender[ok] * n_p + platform[ok], weights=book.principal[:n][ok], minlength=n_l * n_p)
        out += flat.reshape(n_l, n_p)
    return out


def claims_by_intermediary_lender(model: MarketModel) -> np.ndarray:
    """What clients of each intermediary still owe each lender (consumer loans), intermediaries x lenders."""
    n_r, n_l = len(model.restructurer_list), len(model.lender_list)
    book, c = model.credit.consumer, model.consumers
    n = book.n
    client = c.client_of[book.borrower[:n].clip(0)].astype(np.int64)
    lender = book.lender[:n].astype(np.int64)
    owed = book.outstanding[:n] + book.claim[:n]
    ok = (client >= 0) & (client < n_r) & (lender >= 0) & (lender < n_l) & (book.borrower[:n] >= 0)
    flat = np.bincount(client[ok] * n_l + lender[ok], weights=owed[ok], minlength=n_r * n_l)
    return flat.reshape(n_r, n_l)


def graph(run: Run) -> nx.DiGraph:
    """The network of a run's model with node kinds and edge amounts (`amount`, `kind`)."""
    model = run.model
    revenue = charts.recorded_revenue(run)
    g = nx.DiGraph()
    for lend in model.lender_list:
        g.add_node(lend.name, kind="lender", layer=0, size=max(lend.equity, 0.0), closed=not lend.active)
    for p in model.platform_list:
        g.add_node(p.name, kind="platform", layer=1, size=revenue[p.name]["total"], closed=False)
    for r in model.restructurer_list:
        g.add_node(r.name, kind="intermediary", layer=2, size=max(run.recorded_fees(r.name), 0.0),
                   closed=not r.active)
    lent = lent_by_lender_platform(model)
    for j, lend in enumerate(model.lender_list):
        for k, p in enumerate(model.platform_list):
            if lent[j, k] > 0:
                g.add_edge(lend.name, p.name, amount=float(lent[j, k]), kind="lends")
    budgets = np.asarray([r.daily_budget for r in model.restructurer_list], dtype=float)
    shares = budgets / budgets.sum() if budgets.sum() > 0 else budgets
    for p in model.platform_list:
        for i, r in enumerate(model.restructurer_list):
            paid = revenue[p.name]["restructurer_ads"] * shares[i]
            if paid > 0:
                g.add_edge(r.name, p.name, amount=float(paid), kind="ads")
    claims = claims_by_intermediary_lender(model)
    for i, r in enumerate(model.restructurer_list):
        for j, lend in enumerate(model.lender_list):
            if claims[i, j] > 0:
                g.add_edge(r.name, lend.name, amount=float(claims[i, j]), kind="claims")
    return g


NODE_TIPS = {"lender": "lender, equity", "platform": "platform, revenue since day 1",
             "intermediary": "intermediary, fees since day 1"}
"""What a node's size stands for, in its tooltip."""


def option(run: Run, title: str = "Who pays whom (to date)") -> dict[str, Any]:
    """An ECharts graph of `graph(run)` laid out by networkx.

    Drawn on hidden cartesian axes rather than ECharts' own view, which stretches the whole picture to the
    chart's shape: round nodes turned into flat ellipses on a wide screen and tall ones on a narrow one."""
    g = graph(run)
    pos = nx.multipartite_layout(g, subset_key="layer", align="vertical", scale=1.0) if len(g) else {}
    for layer in range(3):  # keep the scenario's order top to bottom, so nodes stay put between runs
        names = [n for n, d in g.nodes(data=True) if d["layer"] == layer]
        slots = sorted((pos[n] for n in names), key=lambda xy: -xy[1])
        pos.update(zip(names, slots, strict=True))
    sizes = [d["size"] for _, d in g.nodes(data=True)] or [0.0]
    top = max(max(sizes), 1.0)
    nodes = []
    for name, d in g.nodes(data=True):
        color, symbol, _ = KIND_STYLE[d["kind"]]
        x, y = pos[name]
        tip = f"{name} ({NODE_TIPS[d['kind']]} {money(d['size'])} RMB{'; closed' if d['closed'] else ''})"
        nodes.append({
            "name": name, "value": [round(float(x), 4), round(float(y), 4)],
            "symbol": symbol, "symbolSize": round(14 + 20 * np.sqrt(d["size"] / top), 1),
            "itemStyle": {"color": "#cccccc" if d["closed"] else color},
            "tooltip": {"formatter": tip.replace("{", "").replace("}", "")},
            # names above or below their node, not beside it: the columns keep the chart's width between them
            "label": {"show": True, "position": "bottom" if d["kind"] == "platform" else "top", "fontSize": 12,
                      "distance": 2, **LABEL_BOX},
        })
    amounts = [d["amount"] for _, _, d in g.edges(data=True)] or [1.0]
    widest = max(max(amounts), 1e-9)
    links = [{
        "source": u, "target": v, "value": money(d["amount"]),
        "label": {"show": d["amount"] >= 0.5 * widest},  # the widest few only: more overlap where edges meet
        "lineStyle": {"width": round(0.5 + 11 * np.sqrt(d["amount"] / widest), 2), "color": EDGE_COLORS[d["kind"]],
                      "opacity": 0.65, "curveness": 0.08 if d["kind"] == "claims" else 0.0},
    } for u, v, d in g.edges(data=True)]
    xs = [n["value"][0] for n in nodes] or [0.0]
    ys = [n["value"][1] for n in nodes] or [0.0]
    pad = 0.12 * max(max(ys) - min(ys), 1.0)  # room for the nodes' own size at the top and bottom
    hidden = {"type": "value", "show": False, "scale": True}
    return {
        "animation": False,
        "title": {"text": title, "left": 6, "top": 2, "textStyle": {"fontSize": 15},
                  "subtext": "since day 1 · blue: lent through the platform · purple: intermediary ads\n"
                             "red: what intermediaries' clients owe the lender · grey node: closed\n"
                             "line width = RMB; node size = equity, revenue or fees (hover for amounts)",
                  "subtextStyle": {"fontSize": 11, "lineHeight": 14}},
        "tooltip": {"formatter": "{b}: {c} RMB", "confine": True},
        "grid": {"left": 56, "right": 56, "top": 104, "bottom": 30},
        "xAxis": {**hidden, "min": min(xs) - 0.04, "max": max(xs) + 0.04},
        "yAxis": {**hidden, "min": min(ys) - pad, "max": max(ys) + pad},
        "series": [{
            "type": "graph", "coordinateSystem": "cartesian2d", "layout": "none", "roam": False, "data": nodes,
            "links": links, "edgeSymbol": ["none", "arrow"], "edgeSymbolSize": 7,
            "edgeLabel": {"show": True, "formatter": "{c}", "fontSize": 11, "color": "#333", **LABEL_BOX},
            "emphasis": {"focus": "adjacency"},
            "labelLayout": {"hideOverlap": True},  # amounts where edges meet were drawn over each other
        }],
    }
