// The attention viewer's front end (course_lib/notebook/viewer.py): an anywidget module.
// Model: query_tokens (T labels), key_tokens (S labels), weights [layer][head][T][S], layer, head, title.
// Point at a query to see what it attends to, at a key to see what attends to it; click to
// keep the selection; the buttons and the small heatmaps choose the layer and the head.
// Plain DOM and SVG, no library and nothing fetched: it works offline.

const SVG = "http://www.w3.org/2000/svg";

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// One head's weights as a small heatmap: darker is more weight (0..1, as the static grid).
function thumbnail(weights, size) {
  const rows = weights.length;
  const cols = rows ? weights[0].length : 0;
  const canvas = document.createElement("canvas");
  const cell = Math.max(1, Math.floor(size / Math.max(rows, cols, 1)));
  canvas.width = cols * cell;
  canvas.height = rows * cell;
  const context = canvas.getContext("2d");
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const shade = Math.round(255 * (1 - Math.min(1, weights[i][j])));
      context.fillStyle = `rgb(${shade}, ${shade}, 255)`;
      context.fillRect(j * cell, i * cell, cell, cell);
    }
  }
  return canvas;
}

function render({ model, el }) {
  const root = element("div", "cav-root");
  const title = element("div", "cav-title");
  const layers = element("div", "cav-layers");
  const heads = element("div", "cav-heads");
  const caption = element("div", "cav-caption");
  const board = element("div", "cav-board");
  const queryColumn = element("div", "cav-column cav-queries");
  const keyColumn = element("div", "cav-column cav-keys");
  const lines = document.createElementNS(SVG, "svg");
  lines.setAttribute("class", "cav-lines");
  board.append(queryColumn, lines, keyColumn);
  root.append(title, layers, heads, caption, board);
  el.appendChild(root);

  // What is selected: {side: "query" | "key", index}; pinned by a click, else by hovering.
  let hovered = null;
  let pinned = null;

  const current = () => model.get("weights")[model.get("layer")][model.get("head")];

  function chip(label, side, index) {
    const node = element("span", `cav-token cav-${side}`, label);
    node.dataset.index = String(index);
    node.dataset.weight = "0";
    node.addEventListener("mouseenter", () => { hovered = { side, index }; update(); });
    node.addEventListener("mouseleave", () => { hovered = null; update(); });
    node.addEventListener("click", () => {
      const same = pinned && pinned.side === side && pinned.index === index;
      pinned = same ? null : { side, index };
      update();
    });
    return node;
  }

  function buildTokens() {
    queryColumn.replaceChildren(element("div", "cav-heading", "query"),
      ...model.get("query_tokens").map((label, i) => chip(label, "query", i)));
    keyColumn.replaceChildren(element("div", "cav-heading", "key"),
      ...model.get("key_tokens").map((label, j) => chip(label, "key", j)));
  }

  function buildControls() {
    const weights = model.get("weights");
    title.textContent = model.get("title");
    layers.replaceChildren(element("span", "cav-label", "layer"), ...weights.map((_, l) => {
      const button = element("button", "cav-layer", String(l));
      button.dataset.layer = String(l);
      button.addEventListener("click", () => { model.set("layer", l); model.save_changes(); });
      return button;
    }));
    heads.replaceChildren(...weights[model.get("layer")].map((headWeights, h) => {
      const button = element("button", "cav-head");
      button.dataset.head = String(h);
      button.title = `layer ${model.get("layer")}, head ${h}`;
      button.append(thumbnail(headWeights, 72), element("span", "cav-head-label", `head ${h}`));
      button.addEventListener("click", () => { model.set("head", h); model.save_changes(); });
      return button;
    }));
  }

  // Colour the tokens and draw the lines of the selection; say in words what is strongest.
  function update() {
    const weights = current();
    const selection = pinned || hovered;
    const queries = [...queryColumn.querySelectorAll(".cav-query")];
    const keys = [...keyColumn.querySelectorAll(".cav-key")];
    layers.querySelectorAll(".cav-layer").forEach((b) =>
      b.classList.toggle("cav-on", Number(b.dataset.layer) === model.get("layer")));
    heads.querySelectorAll(".cav-head").forEach((b) =>
      b.classList.toggle("cav-on", Number(b.dataset.head) === model.get("head")));
    [...queries, ...keys].forEach((node) => {
      node.dataset.weight = "0";
      node.style.backgroundColor = "";
      node.style.color = "";
      node.classList.remove("cav-selected");
    });
    lines.replaceChildren();
    const where = `layer ${model.get("layer")}, head ${model.get("head")}`;
    if (!selection) {
      caption.textContent = `${where}: point at a query to see what it attends to, ` +
        "at a key to see what attends to it; click to keep it";
      return;
    }
    const fromQuery = selection.side === "query";
    const chosen = (fromQuery ? queries : keys)[selection.index];
    const others = fromQuery ? keys : queries;
    const values = fromQuery ? weights[selection.index]
                             : weights.map((row) => row[selection.index]);
    chosen.classList.add("cav-selected");
    const box = board.getBoundingClientRect();
    lines.setAttribute("width", String(box.width));
    lines.setAttribute("height", String(box.height));
    const anchor = (node, right) => {
      const r = node.getBoundingClientRect();
      return [(right ? r.right : r.left) - box.left, r.top + r.height / 2 - box.top];
    };
    let best = 0;
    values.forEach((value, i) => {
      const node = others[i];
      node.dataset.weight = value.toFixed(4);
      node.style.backgroundColor = `rgba(37, 99, 235, ${Math.min(1, value)})`;
      node.style.color = value > 0.5 ? "white" : "";
      if (value > values[best]) best = i;
      if (value < 0.005) return;
      const [x1, y1] = fromQuery ? anchor(chosen, true) : anchor(node, true);
      const [x2, y2] = fromQuery ? anchor(node, false) : anchor(chosen, false);
      const line = document.createElementNS(SVG, "line");
      line.setAttribute("x1", x1); line.setAttribute("y1", y1);
      line.setAttribute("x2", x2); line.setAttribute("y2", y2);
      line.setAttribute("stroke-opacity", String(Math.min(1, value)));
      lines.appendChild(line);
    });
    const label = chosen.textContent;
    const strongest = others[best].textContent;
    caption.textContent = fromQuery
      ? `${where}: "${label}" attends most to "${strongest}" (${values[best].toFixed(2)})`
      : `${where}: "${strongest}" attends most to "${label}" (${values[best].toFixed(2)})`;
  }

  buildControls();
  buildTokens();
  update();
  const onLayer = () => { buildControls(); update(); };
  model.on("change:layer", onLayer);
  model.on("change:head", update);
  model.on("change:weights", onLayer);
  return () => {
    model.off("change:layer", onLayer);
    model.off("change:head", update);
    model.off("change:weights", onLayer);
  };
}

export default { render };
