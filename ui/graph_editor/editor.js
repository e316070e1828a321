// CausalRec Studio: the browser half of the causal graph editor (a Streamlit v2 component).
//
// `vis` (vis-network, as shipped in the pyvis wheel) is defined by the prelude that
// ui/graph_editor.py puts in front of this file; nothing is fetched from the network.
//
// Python is the single source of truth. This module only
//   * draws what Python sends in `data` (nodes, edges, highlights), and
//   * reports what the user did as trigger events:
//       setTriggerValue("edit",  {op: "add_edge" | "remove_edge" | "reverse_edge", source, target, seq})
//       setTriggerValue("edit",  {op: "remove_node", node, seq})
//       setTriggerValue("edit",  {op: "move", positions: {name: [x, y], ...}, seq})
//       setTriggerValue("image", {png: "data:image/png;base64,...", seq})
// It never changes its own graph: a refused edit simply leaves the drawing as Python sent it.
//
// User text (node names, descriptions, notes, messages) only ever reaches the DOM through
// textContent / vis-network's canvas labels and text tooltips, never as HTML.

const EDITORS = new WeakMap();

const ROLE_COLORS = {
  variable: { bg: "#ffffff", border: "#64748b" },
  treatment: { bg: "#dbeafe", border: "#1d4ed8" },
  outcome: { bg: "#dcfce7", border: "#15803d" },
  confounder: { bg: "#fef3c7", border: "#b45309" },
  mediator: { bg: "#ede9fe", border: "#6d28d9" },
  instrument: { bg: "#cffafe", border: "#0e7490" },
  collider: { bg: "#fce7f3", border: "#be185d" },
  latent: { bg: "#f3f4f6", border: "#6b7280" },
  adjusted: { bg: "#e5e7eb", border: "#111827" },
};
const EDGE_PLAIN = "#64748b";
const EDGE_CAUSAL = "#15803d";
const EDGE_BACKDOOR = "#dc2626";
const EDGE_HINT = "#dc2626";
const SELECT = "#f97316";

const OPTIONS = {
  autoResize: true,
  physics: { enabled: false },
  layout: { randomSeed: 1, improvedLayout: false },
  interaction: {
    hover: true,
    dragNodes: true,
    dragView: true,
    zoomView: false, // the page scrolls under the wheel; the toolbar has zoom buttons
    multiselect: false,
    selectConnectedEdges: false,
    keyboard: false,
    navigationButtons: false,
    tooltipDelay: 250,
  },
  manipulation: { enabled: false },
  nodes: {
    shape: "box",
    margin: 10,
    widthConstraint: { maximum: 220 },
    font: { face: "Source Sans Pro, sans-serif", size: 16, color: "#111827", multi: false },
  },
  edges: {
    arrows: { to: { enabled: true, scaleFactor: 0.8 } },
    smooth: { enabled: true, type: "curvedCW", roundness: 0.08 },
    font: { face: "Source Sans Pro, sans-serif", size: 12, align: "top", strokeWidth: 4, strokeColor: "#ffffff" },
  },
};

const TOOLS = [
  ["connect", "Add edge", "Add an edge: click the cause, then the effect (Esc cancels)"],
  ["delete", "Delete selected", "Delete the selected node or edge (Delete key)"],
  ["reverse", "Reverse edge", "Reverse the selected edge"],
  ["zoomin", "+", "Zoom in"],
  ["zoomout", "−", "Zoom out"],
  ["fit", "Fit", "Show the whole graph"],
  ["png", "Export PNG", "Capture the drawing as a PNG image (download it from the Export menu)"],
];

const DEFAULT_HINT =
  "Drag a node to move it; select a node or edge to delete it, an edge to reverse it; drag the background to pan.";

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, String(value));
  }
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function edgeId(source, target) {
  return JSON.stringify([source, target]);
}

function fmt(value) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(2) : "";
}

function nodeTooltip(n) {
  const lines = [n.name, `role: ${n.role}${n.latent ? " (unobserved)" : ""}`];
  if (n.column) lines.push(`column: ${n.column}`);
  if (n.description) lines.push(n.description);
  if (n.flag) lines.push(n.flag);
  return lines.join("\n");
}

function edgeTooltip(e) {
  const lines = [`${e.source} → ${e.target}`, `origin: ${e.origin}`];
  if (typeof e.confidence === "number") lines.push(`confidence: ${fmt(e.confidence)}`);
  if (e.note) lines.push(e.note);
  if (e.causal) lines.push("on a causal path from the treatment to the outcome");
  if (e.backdoor) lines.push("on an open backdoor path");
  return lines.join("\n");
}

class Editor {
  constructor(host) {
    this.host = host;
    this.send = () => {};
    this.seq = 0;
    this.connecting = false;
    this.source = null;
    this.graphId = null;
    this.rev = null;
    this.data = { nodes: [], edges: [], hints: [] };
    this.pending = null;
    this.needFit = false;
    this.checkVisible = false;
    this.lastPositions = "";
    this.pos = {};
    this.mid = [0, 0];

    this.root = el("div", { class: "cr-graph", "data-testid": "graph-editor", "data-ready": "0" });
    this.toolbar = el("div", { class: "cr-toolbar", role: "toolbar", "aria-label": "Graph editor tools" });
    this.buttons = {};
    for (const [action, label, title] of TOOLS) {
      // the visible text is the accessible name; the title explains (zoom symbols get a name)
      const attrs = { type: "button", "data-action": action, title };
      if (action.startsWith("zoom")) attrs["aria-label"] = title;
      const button = el("button", attrs, label);
      if (action === "connect") button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => this.act(action));
      this.buttons[action] = button;
      this.toolbar.appendChild(button);
    }
    this.status = el("div", { class: "cr-status", role: "status", "aria-live": "polite" }, DEFAULT_HINT);
    this.canvasBox = el("div", {
      class: "cr-canvas",
      tabindex: "0",
      role: "application",
      "aria-label": "Causal graph drawing. The edge and node tables below the editor edit the same graph.",
    });
    this.legend = el("div", { class: "cr-legend", "aria-label": "Legend" });
    this.textView = el("details", { class: "cr-text" });
    this.textSummary = el("summary", {}, "Graph as text");
    this.textBody = el("div");
    this.textView.append(this.textSummary, this.textBody);
    // the status line sits under the canvas, so that a longer message never moves the drawing
    this.root.append(this.toolbar, this.canvasBox, this.status, this.legend, this.textView);
    host.appendChild(this.root);

    this.nodes = new vis.DataSet();
    this.edges = new vis.DataSet();
    this.network = new vis.Network(this.canvasBox, { nodes: this.nodes, edges: this.edges }, OPTIONS);
    this.network.on("click", (p) => this.onClick(p));
    this.network.on("select", () => this.refreshButtons());
    this.network.on("deselectNode", () => this.refreshButtons());
    this.network.on("deselectEdge", () => this.refreshButtons());
    this.network.on("dragEnd", (p) => this.onDragEnd(p));
    this.network.on("afterDrawing", () => this.afterDrawing());
    this.canvasBox.addEventListener("keydown", (ev) => this.onKey(ev));
    this.canvasBox.addEventListener("mouseleave", () => this.hideTooltip());
  }

  // ---- Python -> browser --------------------------------------------------------------

  update(data) {
    this.data = { nodes: [], edges: [], hints: [], ...(data || {}) };
    const d = this.data;
    this.canvasBox.style.height = `${Number(d.height) || 520}px`;

    this.pos = Object.fromEntries(d.nodes.map((n) => [n.name, [n.x, n.y]]));
    const xs = d.nodes.map((n) => n.x);
    const ys = d.nodes.map((n) => n.y);
    this.mid = xs.length ? [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2] : [0, 0];
    const nodeItems = d.nodes.map((n) => this.visNode(n, d));
    const edgeItems = d.edges.map((e) => this.visEdge(e));
    for (const h of d.hints) edgeItems.push(this.visHint(h));
    const known = new Set(this.nodes.getIds());
    if (nodeItems.some((n) => !known.has(n.id))) this.checkVisible = true; // a new node may lie off view
    const removed = this.sync(this.nodes, nodeItems) + this.sync(this.edges, edgeItems);

    const newGraph = d.graph_id !== this.graphId;
    this.graphId = d.graph_id;
    this.pending = null; // any payload from Python answers the last event (it carries its seq as `ack`)
    if (removed || d.rev !== this.rev) this.hideTooltip(); // its item may be gone or changed
    if (d.rev !== this.rev) {
      this.rev = d.rev;
      if (newGraph) this.setConnecting(false);
      this.source = null;
    }
    this.root.dataset.rev = String(d.rev ?? "");
    this.root.dataset.graphId = String(d.graph_id ?? "");
    if (newGraph) this.needFit = true;
    this.renderLegend(d);
    this.renderText(d);
    this.refreshButtons();
    this.showStatus();
    this.root.dataset.ready = "1";
    this.network.redraw();
  }

  sync(dataset, items) {
    const keep = new Set(items.map((i) => i.id));
    const drop = dataset.getIds().filter((id) => !keep.has(id));
    if (drop.length) dataset.remove(drop);
    dataset.update(items);
    return drop.length;
  }

  hideTooltip() {
    // vis-network hides its hover card only when the mouse moves on the canvas off the item; an
    // item deleted from the toolbar (the mouse is on the button) or redrawn by Python would leave
    // the card of a gone edge on screen. Cancel a pending card, hide the shown one.
    const ih = this.network && this.network.interactionHandler;
    if (ih) {
      if (ih.popupTimer !== undefined) {
        clearTimeout(ih.popupTimer);
        ih.popupTimer = undefined;
      }
      if (ih.popup) ih.popup.hide();
      ih.popupObj = undefined;
    }
    for (const tip of this.canvasBox.querySelectorAll(".vis-tooltip")) tip.style.visibility = "hidden";
  }

  visNode(n, d) {
    const role = ROLE_COLORS[n.role] ? n.role : "variable";
    const c = ROLE_COLORS[role];
    const focus = n.name === d.treatment || n.name === d.outcome;
    const adjusted = Array.isArray(d.adjustment) && d.adjustment.includes(n.name);
    const bg = adjusted ? ROLE_COLORS.adjusted.bg : c.bg;
    const border = n.flag ? EDGE_HINT : c.border;
    return {
      id: n.name,
      label: n.flag ? `${n.name} ⚠` : n.name,
      x: n.x,
      y: n.y,
      title: nodeTooltip(n),
      color: {
        background: bg,
        border,
        highlight: { background: bg, border: SELECT },
        hover: { background: bg, border },
      },
      borderWidth: focus || adjusted ? 4 : 1.5,
      borderWidthSelected: focus || adjusted ? 5 : 3,
      shapeProperties: { borderDashes: n.latent ? [6, 4] : false, borderRadius: 6 },
      font: { color: n.latent ? "#4b5563" : "#111827", size: focus ? 17 : 16 },
      shadow: focus ? { enabled: true, color: "rgba(0,0,0,0.25)", size: 8, x: 2, y: 2 } : { enabled: false },
    };
  }

  visEdge(e) {
    let color = EDGE_PLAIN;
    let width = 1.5;
    let dashes = e.origin === "learned" ? [2, 3] : false;
    if (e.backdoor) {
      color = EDGE_BACKDOOR;
      width = 3.5;
      dashes = [10, 6];
    }
    if (e.causal) { // a causal edge stays green; dashed when a backdoor path runs along it too
      color = EDGE_CAUSAL;
      width = 3.5;
    }
    const label = e.origin === "learned" && typeof e.confidence === "number" ? fmt(e.confidence) : "";
    return {
      smooth: this.curve(e.source, e.target),
      id: edgeId(e.source, e.target),
      from: e.source,
      to: e.target,
      label,
      title: edgeTooltip(e),
      width,
      dashes,
      arrows: { to: { enabled: true, scaleFactor: 0.8 } },
      color: { color, highlight: SELECT, hover: color, inherit: false, opacity: 1 },
      font: { color: "#374151" },
      hint: false,
    };
  }

  curve(source, target) {
    // An edge whose straight line would cross another node arcs away from the centre of the
    // drawing, so that it passes beside the nodes in between instead of through them.
    const a = this.pos[source];
    const b = this.pos[target];
    const flat = { enabled: true, type: "curvedCW", roundness: 0.08 };
    if (!a || !b) return flat;
    const vx = b[0] - a[0];
    const vy = b[1] - a[1];
    const len2 = vx * vx + vy * vy;
    if (!len2) return flat;
    const blocked = Object.entries(this.pos).some(([name, p]) => {
      if (name === source || name === target) return false;
      const t = ((p[0] - a[0]) * vx + (p[1] - a[1]) * vy) / len2;
      if (t <= 0.05 || t >= 0.95) return false;
      return Math.hypot(a[0] + t * vx - p[0], a[1] + t * vy - p[1]) < 45;
    });
    if (!blocked) return flat;
    const wx = this.mid[0] - (a[0] + b[0]) / 2;
    const wy = this.mid[1] - (a[1] + b[1]) / 2;
    return { enabled: true, type: vx * wy - vy * wx > 0 ? "curvedCW" : "curvedCCW", roundness: 0.3 };
  }

  visHint(h) {
    return {
      smooth: this.curve(h.a, h.b),
      id: `hint:${edgeId(h.a, h.b)}`,
      from: h.a,
      to: h.b,
      label: h.label || "",
      title: h.title || h.label || "",
      width: 2,
      dashes: [3, 5],
      arrows: { to: { enabled: false } },
      color: { color: EDGE_HINT, highlight: EDGE_HINT, hover: EDGE_HINT, inherit: false, opacity: 0.9 },
      font: { color: EDGE_HINT },
      hint: true,
    };
  }

  renderLegend(d) {
    this.legend.replaceChildren();
    const roles = [...new Set(d.nodes.map((n) => (ROLE_COLORS[n.role] ? n.role : "variable")))];
    for (const role of Object.keys(ROLE_COLORS)) {
      if (!roles.includes(role)) continue;
      const item = el("span", { class: "cr-legend-item" });
      const swatch = el("span", { class: "cr-swatch" });
      swatch.style.background = ROLE_COLORS[role].bg;
      swatch.style.borderColor = ROLE_COLORS[role].border;
      if (role === "latent") swatch.style.borderStyle = "dashed";
      item.append(swatch, document.createTextNode(role));
      this.legend.appendChild(item);
    }
    const lines = [];
    if (d.edges.some((e) => e.causal)) lines.push(["causal path", EDGE_CAUSAL, "solid"]);
    if (d.edges.some((e) => e.causal && e.backdoor)) {
      lines.push(["causal, and on an open backdoor path", EDGE_CAUSAL, "dashed"]);
    }
    if (d.edges.some((e) => e.backdoor)) lines.push(["open backdoor path", EDGE_BACKDOOR, "dashed"]);
    if (d.edges.some((e) => e.origin === "learned")) lines.push(["learned edge (confidence)", EDGE_PLAIN, "dotted"]);
    if (d.hints.length) lines.push(["independence rejected by the data", EDGE_HINT, "dotted"]);
    if (Array.isArray(d.adjustment) && d.adjustment.length) {
      const item = el("span", { class: "cr-legend-item" });
      const swatch = el("span", { class: "cr-swatch cr-swatch-adjusted" });
      item.append(swatch, document.createTextNode("adjusted for"));
      this.legend.appendChild(item);
    }
    for (const [label, color, style] of lines) {
      const item = el("span", { class: "cr-legend-item" });
      const line = el("span", { class: "cr-line" });
      line.style.borderTop = `3px ${style} ${color}`;
      item.append(line, document.createTextNode(label));
      this.legend.appendChild(item);
    }
  }

  renderText(d) {
    this.textSummary.textContent = `Graph as text (${d.nodes.length} nodes, ${d.edges.length} edges)`;
    const nodes = el("ul", { class: "cr-text-nodes", "aria-label": "Nodes" });
    for (const n of d.nodes) {
      const extra = [n.role, n.latent ? "unobserved" : "", n.column ? `column ${n.column}` : ""].filter(Boolean);
      const li = el("li", { "data-node": n.name });
      li.append(el("span", { class: "cr-node-name" }, n.name), document.createTextNode(` (${extra.join(", ")})`));
      nodes.appendChild(li);
    }
    const edges = el("ul", { class: "cr-text-edges", "aria-label": "Edges" });
    for (const e of d.edges) {
      const conf = typeof e.confidence === "number" ? `, confidence ${fmt(e.confidence)}` : "";
      edges.appendChild(el("li", { "data-source": e.source, "data-target": e.target },
        `${e.source} → ${e.target} (${e.origin}${conf})`));
    }
    this.textBody.replaceChildren(el("strong", {}, "Nodes"), nodes, el("strong", {}, "Edges"), edges);
  }

  // ---- browser -> Python --------------------------------------------------------------

  emit(event, value, pendingText) {
    this.seq += 1;
    this.pending = pendingText || null;
    this.showStatus();
    this.send(event, { ...value, seq: this.seq });
  }

  act(action) {
    const net = this.network;
    if (action === "connect") this.setConnecting(!this.connecting);
    else if (action === "delete") this.deleteSelected();
    else if (action === "reverse") this.reverseSelected();
    else if (action === "zoomin") net.moveTo({ scale: net.getScale() * 1.25 });
    else if (action === "zoomout") net.moveTo({ scale: net.getScale() / 1.25 });
    else if (action === "fit") net.fit({ animation: { duration: 250 } });
    else if (action === "png") this.exportPng();
  }

  setConnecting(on) {
    this.connecting = on;
    this.source = null;
    this.buttons.connect.setAttribute("aria-pressed", on ? "true" : "false");
    this.buttons.connect.classList.toggle("cr-active", on);
    this.root.classList.toggle("cr-connecting", on);
    if (on) this.network.unselectAll();
    this.refreshButtons();
    this.showStatus();
  }

  onClick(p) {
    if (!this.connecting) return;
    const node = p.nodes && p.nodes.length ? p.nodes[0] : null;
    if (node === null) {
      this.source = null;
      this.network.unselectAll();
    } else if (this.source === null) {
      this.source = node;
      this.network.selectNodes([node]);
    } else if (node === this.source) {
      this.source = null;
      this.network.unselectAll();
    } else {
      const source = this.source;
      this.source = null;
      this.network.unselectAll();
      this.emit("edit", { op: "add_edge", source, target: node }, `Adding ${source} → ${node}…`);
      return;
    }
    this.showStatus();
  }

  selectedEdge() {
    const ids = this.network.getSelectedEdges();
    for (const id of ids) {
      const e = this.edges.get(id);
      if (e && !e.hint) return e;
    }
    return null;
  }

  deleteSelected() {
    this.hideTooltip();
    const nodes = this.network.getSelectedNodes();
    if (nodes.length) {
      this.emit("edit", { op: "remove_node", node: nodes[0] }, `Deleting ${nodes[0]}…`);
      return;
    }
    const e = this.selectedEdge();
    if (e) this.emit("edit", { op: "remove_edge", source: e.from, target: e.to }, `Deleting ${e.from} → ${e.to}…`);
  }

  reverseSelected() {
    const e = this.selectedEdge();
    if (e) this.emit("edit", { op: "reverse_edge", source: e.from, target: e.to }, `Reversing ${e.from} → ${e.to}…`);
  }

  onDragEnd(p) {
    if (!p.nodes || !p.nodes.length) return;
    const positions = {};
    for (const [id, pos] of Object.entries(this.network.getPositions())) {
      positions[id] = [Math.round(pos.x * 10) / 10, Math.round(pos.y * 10) / 10];
    }
    this.emit("edit", { op: "move", positions }, null);
  }

  onKey(ev) {
    if (ev.key === "Escape" && this.connecting) {
      this.setConnecting(false);
      ev.preventDefault();
    } else if (ev.key === "Delete" || ev.key === "Backspace") {
      this.deleteSelected();
      ev.preventDefault();
    }
  }

  exportPng() {
    const canvas = this.canvasBox.querySelector("canvas");
    if (!canvas) return;
    this.network.fit({ animation: false });
    this.network.once("afterDrawing", () => {
      const out = document.createElement("canvas");
      out.width = canvas.width;
      out.height = canvas.height;
      const ctx = out.getContext("2d");
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, out.width, out.height);
      ctx.drawImage(canvas, 0, 0);
      this.emit("image", { png: out.toDataURL("image/png") }, "Preparing the PNG…");
    });
    this.network.redraw();
  }

  // ---- feedback -----------------------------------------------------------------------

  refreshButtons() {
    const nodes = this.network.getSelectedNodes();
    const edge = this.selectedEdge();
    this.buttons.delete.disabled = this.connecting || !(nodes.length || edge);
    this.buttons.reverse.disabled = this.connecting || !edge;
  }

  showStatus() {
    const notice = this.data.notice && this.data.notice.text ? this.data.notice : null;
    let text = DEFAULT_HINT;
    let kind = "";
    if (this.pending) {
      text = this.pending;
    } else if (this.connecting) {
      const step = this.source === null
        ? "Add edge: click the cause (source) node; Esc or 'Add edge' again to stop."
        : `Add edge from ${this.source}: now click the effect (target) node.`;
      text = notice && this.source === null ? `${notice.text} ${step}` : step;
      kind = notice && this.source === null ? (notice.kind === "error" ? "cr-error" : "cr-ok") : "cr-mode";
    } else if (notice) {
      text = notice.text;
      kind = notice.kind === "error" ? "cr-error" : "cr-ok";
    }
    this.status.textContent = text;
    this.status.className = `cr-status ${kind}`;
  }

  afterDrawing() {
    const canvas = this.canvasBox.querySelector("canvas");
    if (this.needFit && canvas && canvas.clientWidth > 0 && canvas.clientHeight > 0) {
      this.needFit = false;
      this.network.fit({ animation: false, maxZoomLevel: 1.2 });
      return; // fit() redraws, which calls back here
    }
    if (this.checkVisible && canvas && canvas.clientWidth > 0) {
      this.checkVisible = false;
      const hidden = Object.values(this.network.getPositions()).some((p) => {
        const d = this.network.canvasToDOM(p);
        return d.x < 20 || d.y < 20 || d.x > canvas.clientWidth - 20 || d.y > canvas.clientHeight - 20;
      });
      if (hidden) {
        this.network.fit({ animation: false, maxZoomLevel: 1.2 });
        return;
      }
    }
    this.exposePositions();
  }

  exposePositions() {
    // DOM coordinates of every node, relative to the canvas' top-left corner: lets tests (and
    // assistive tooling) aim at nodes without reading the canvas.
    const out = {};
    for (const [id, pos] of Object.entries(this.network.getPositions())) {
      const dom = this.network.canvasToDOM(pos);
      out[id] = [Math.round(dom.x), Math.round(dom.y)];
    }
    const text = JSON.stringify(out);
    if (text !== this.lastPositions) {
      this.lastPositions = text;
      this.root.dataset.positions = text;
    }
  }

  destroy() {
    this.network.destroy();
    this.root.remove();
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let editor = EDITORS.get(parentElement);
  if (!editor) {
    editor = new Editor(parentElement);
    EDITORS.set(parentElement, editor);
  }
  editor.send = setTriggerValue;
  editor.update(data);
  return () => {
    editor.destroy();
    EDITORS.delete(parentElement);
  };
}
