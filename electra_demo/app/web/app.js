// The explorer's first views, computed in the browser: model.onnx through ONNX Runtime Web (wasm, one thread),
// the tokenizer in tokenizer.js, the figures with plotly.js. Nothing is sent anywhere.
//
// One sentence = one graph run (B = 1, no padding) -> window.explanationRaw (full precision) and window.explanation
// (the server's /explain JSON: views/explain.py to_json, same keys, shapes and rounding). The padding lab then runs
// the same graph on the sentence with N pads right and left (B = 2 per N) -> window.explanationRaw.padding.
// window.electraDemo.run(text) does what the Explain button does and resolves when the page has been updated.
"use strict";

const EXAMPLES = [  // electra_demo/app/page.py EXAMPLES (a test keeps them equal)
  "A gripping, beautifully acted film with a story that stays with you.",
  "The plot was dull and the acting was even worse.",
  "Not bad at all [SEP] though the ending drags.",
  "It is neither good nor bad, just long.",
];
const $ = (id) => document.getElementById(id);
const M = {};  // model.json
let tokenizer = null, session = null;
const timings = (window.timings = { navigation_start_ms: 0 });

// ---------------------------------------------------------------- small numeric helpers (float64 over float32 outputs)

function roundHalfEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function sig(x, digits = 3) {  // views.common.round_array: `digits` significant digits
  if (!Number.isFinite(x) || x === 0) return x;
  const k = digits - 1 - Math.floor(Math.log10(Math.abs(x)));
  const p = 10 ** Math.abs(k);
  return k >= 0 ? roundHalfEven(x * p) / p : roundHalfEven(x / p) * p;
}
const rounded = (a, digits = 3) => (Array.isArray(a) ? a.map((v) => rounded(v, digits)) : sig(a, digits));
const decimals = (x, n) => roundHalfEven(x * 10 ** n) / 10 ** n;  // Python's round(x, n)
const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);
const norm = (a) => Math.sqrt(dot(a, a));
const argmax = (a) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);
const zmax = (rows) => sig(Math.max(...rows.map((r) => Math.max(...r.map(Math.abs))))) || 1.0;
function cosineTorch(a, b) {  // torch.nn.functional.cosine_similarity(a, b, eps=1e-12)
  return dot(a, b) / Math.sqrt(Math.max(dot(a, a) * dot(b, b), 1e-24));
}
function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" })[c]);
}

// ---------------------------------------------------------------- loading

async function getJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

async function fetchBytes(url, onProgress) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  const total = Number(r.headers.get("content-length")) || 0;
  const reader = r.body.getReader();
  const parts = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    onProgress(got, total);
  }
  const bytes = new Uint8Array(got);
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  return bytes;
}

function status(text) { $("status").textContent = text; }

async function load() {
  Object.assign(M, await getJSON("model.json"));
  const [config, tables] = await Promise.all([getJSON(M.tokenizer.file), getJSON(M.tokenizer.tables)]);
  tokenizer = new WordPieceTokenizer(config, tables, M.tokenizer);
  $("model-card").innerHTML = markdown(M.model.card);  // written by views.explain.model_card, which escapes its fields
  $("vendor").textContent = Object.values(M.vendor).filter((v, i, a) => a.indexOf(v) === i).join(", ");
  $("dimensions").innerHTML = markdown(M.views.dimensions);
  ort.env.wasm.wasmPaths = new URL("vendor/", location.href).href;
  ort.env.wasm.numThreads = 1;  // no worker threads: no cross-origin isolation needed, any static server works
  const bytes = await fetchBytes(M.graph.file, (got, total) =>
    status(`loading the model: ${(got / 1e6).toFixed(1)}${total ? ` of ${(total / 1e6).toFixed(1)}` : ""} MB`));
  status("starting ONNX Runtime Web (WebAssembly)...");
  session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  timings.model_bytes = bytes.length;
  timings.session_ready_ms = performance.now();
  status(`ready: ${M.model.name} runs here, in this browser tab (${(bytes.length / 1e6).toFixed(1)} MB model)`);
  const slider = $("layer-slider");
  slider.max = String(M.model.num_layers);
  slider.value = String(M.model.num_layers);
  for (const text of EXAMPLES) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.addEventListener("click", () => { $("sentence").value = text; submit(); });
    $("examples").appendChild(b);
  }
  const params = new URLSearchParams(location.search);
  const layer = Number(params.get("layer"));
  if (params.has("layer") && Number.isInteger(layer) && layer >= 0 && layer <= M.model.num_layers) slider.value = String(layer);
  $("sentence").value = params.get("sentence") || EXAMPLES[0];
  await submit();
  timings.first_prediction_ms = timings.first_prediction_ms || performance.now();
}

function markdown(text) {  // the little markdown of the server's texts: **bold**, `code`
  return text.replace(/\*\*([^*]+)\*\*/g, "<b>$1</b>").replace(/`([^`]+)`/g, "<code>$1</code>");
}

// ---------------------------------------------------------------- the model

async function runGraph(rows, masks, names) {
  const B = rows.length, T = rows[0].length;
  const ids = new BigInt64Array(B * T), mask = new BigInt64Array(B * T);
  rows.forEach((r, b) => r.forEach((v, t) => { ids[b * T + t] = BigInt(v); mask[b * T + t] = BigInt(masks[b][t]); }));
  const feeds = { input_ids: new ort.Tensor("int64", ids, [B, T]), attention_mask: new ort.Tensor("int64", mask, [B, T]) };
  return session.run(feeds, names);
}

function rowsOf(tensor) {  // (B, ..., D) -> B x [D-vectors...] as plain arrays of numbers
  const dims = tensor.dims, D = dims[dims.length - 1], data = tensor.data;
  const out = [];
  for (let i = 0; i < data.length; i += D) out.push(Array.from(data.subarray(i, i + D)));
  return out;
}

class InputError extends Error {}

function checkText(text) {  // lab.explain.check_text
  const n = Array.from(text).length;
  if (n > M.tokenizer.max_chars) {
    throw new InputError(`text too long: ${n.toLocaleString("en-US")} characters; the limit is ` +
      `${M.tokenizer.max_chars.toLocaleString("en-US")}. Send a shorter text.`);
  }
  if (/^[\s\x1c-\x1f\x85]*$/.test(text)) throw new InputError("please type a sentence: the text is empty or only whitespace");
  return text;
}

const headFor = (p) => M.graph.applied[p] ?? null;  // the head applied to pooling p (lab.padding.head_for)
const trained = (p) => M.model.heads.includes(p);

// lab.explain.explain, from one graph run: the same fields, full precision
async function explainText(text) {
  checkText(text);
  const t0 = performance.now();
  const enc = tokenizer.encode(text, M.model.max_length);
  const t1 = performance.now();
  const T = enc.ids.length, L = M.model.num_layers, names = M.graph.names, labels = M.model.labels;
  const out = await runGraph([enc.ids], [enc.ids.map(() => 1)]);
  const t2 = performance.now();
  const hs = [];  // (L+1, T, H)
  for (let l = 0; l <= L; l++) hs.push(rowsOf(out[`hidden_states[${l}]`]));
  const pooled = {};
  for (const p of names) pooled[p] = Array.from(out[`pooled[${p}]`].data);
  const heads = {};
  for (const p of names) {
    if (!trained(p)) { heads[p] = null; continue; }
    const probs = Array.from(out[`probs[${p}]`].data), k = argmax(probs);
    heads[p] = { label: labels[k], prob: probs[k], probs };
  }
  const main = M.model.main_pooling;
  const norms = hs.map((layer) => layer.map(norm));  // (L+1, T)
  const cls = hs[L][0], clsNorm = Math.max(norms[L][0], 1e-12);
  const P = names.map((p) => pooled[p]), pn = P.map((v) => Math.max(norm(v), 1e-12));
  const note = enc.n_tokens > T ? `truncated from ${enc.n_tokens} to ${T} tokens` : "";
  const raw = {
    text, tokens: enc.tokens, input_ids: enc.ids, labels, main_pooling: main, label: heads[main].label,
    probs: heads[main].probs, logits: Array.from(out[`logits[${main}]`].data), names,
    hidden_states: hs, pooled, heads, head_intermediate: Array.from(out.head_intermediate.data),
    token_norms: norms, cls_cosine: hs.map((layer, l) => layer.map((v, t) => dot(v, cls) / (Math.max(norms[l][t], 1e-12) * clsNorm))),
    similarity: P.map((a, i) => P.map((b, j) => dot(a, b) / (pn[i] * pn[j]))),
    n_tokens: enc.n_tokens, max_length: M.model.max_length, truncation_note: note,
  };
  raw.shapes = shapeRows(T, note);
  raw.timings = { tokenize_ms: t1 - t0, graph_ms: t2 - t1, explain_ms: performance.now() - t0 };
  return raw;
}

function shapeRows(T, note) {  // the shape trace: model.json's rows with this sentence's T (and truncation note)
  return M.shapes.map((r) => ({
    name: r.name, shape: r.shape.replaceAll("{T}", String(T)), dtype: r.dtype,
    note: r.name === "tokens" && note ? `${r.note}; ${note}` : r.note,
  }));
}

// views.explain.to_json: the server's /explain payload
function toJson(raw) {
  const names = raw.names, r3 = (a) => rounded(a, 3), r4 = (a) => rounded(a, 4);
  const zip = (keys, values) => Object.fromEntries(keys.map((k, i) => [k, values[i]]));
  const poolings = {};
  for (const p of names) {
    const hp = raw.heads[p], rec = M.poolings[p], v = raw.pooled[p];
    poolings[p] = {
      kind: rec.kind, shape: [1, v.length], norm: decimals(norm(v), 4),
      head: hp === null ? null : { label: hp.label, prob: decimals(hp.prob, 4), probs: zip(raw.labels, r4(hp.probs)) },
      head_note: hp === null ? M.views.no_head : "", description: rec.description, code: rec.code, vector: r3(v),
    };
  }
  return {
    tokens: raw.tokens, input_ids: raw.input_ids, n_tokens: raw.n_tokens, max_length: raw.max_length,
    truncated: Boolean(raw.truncation_note), truncation_note: raw.truncation_note,
    labels: raw.labels, main_pooling: raw.main_pooling, label: raw.label,
    probs: zip(raw.labels, r4(raw.probs)), logits: r4(raw.logits),
    shapes: raw.shapes,
    hidden_states_shape: [raw.hidden_states.length, raw.tokens.length, raw.hidden_states[0][0].length],
    poolings, head_intermediate: r3(raw.head_intermediate),
    similarity: { names, matrix: r3(raw.similarity) },
    token_norms: r3(raw.token_norms), cls_cosine: r3(raw.cls_cosine),
  };
}

function padSweep(n) {  // lab.padding.pad_sweep
  const sweep = [0];
  for (let k = 0; k < 10; k++) if (2 ** k < n) sweep.push(2 ** k);
  return n ? [...sweep, n] : sweep;
}

const padded = (ids, n, side, pad) => {
  const pads = new Array(n).fill(pad), ones = ids.map(() => 1), zeros = new Array(n).fill(0);
  return side === "right" ? [[...ids, ...pads], [...ones, ...zeros]] : [[...pads, ...ids], [...zeros, ...ones]];
};

// lab.padding.padding_lab: N pads right and left, each N its own (2, n + N) batch through the same graph
async function paddingLab(raw, nPads) {
  const t0 = performance.now();
  const names = raw.names, sides = M.padding.sides, pad = M.tokenizer.pad_id, ids = raw.input_ids;
  const sweep = padSweep(nPads);
  const fetches = [...names.map((p) => `pooled[${p}]`), ...names.filter(headFor).map((p) => `probs[${p}]`)];
  const vectors = {}, pred = {};
  for (const side of sides) { vectors[side] = names.map(() => []); pred[side] = names.map(() => []); }
  const predOf = (out, p, b) => (headFor(p) ? argmax(rowsOf(out[`probs[${p}]`])[b]) : -1);
  for (const n of sweep) {
    const rows = sides.map((side) => padded(ids, n, side, pad));
    const out = await runGraph(rows.map((r) => r[0]), rows.map((r) => r[1]), fetches);
    names.forEach((p, i) => sides.forEach((side, b) => {
      vectors[side][i].push(rowsOf(out[`pooled[${p}]`])[b]);
      pred[side][i].push(predOf(out, p, b));
    }));
  }
  const ref = names.map((p, i) => vectors.right[i][0]);  // the N = 0 vector
  const lab = { text: raw.text, tokens: raw.tokens, labels: raw.labels, n_pads: sweep, names,
    naive: names.map((p) => !M.poolings[p].masked), heads: names.map(headFor), sides: {} };
  for (const side of sides) {
    lab.sides[side] = {
      side, vectors: vectors[side], pred: pred[side],
      distance: vectors[side].map((vs, i) => vs.map((v) => norm(v.map((x, j) => x - ref[i][j])))),
      cosine: vectors[side].map((vs, i) => vs.map((v) => cosineTorch(v, ref[i]))),
      flipped: pred[side].map((ps) => ps.some((k) => k !== ps[0])),
    };
  }
  // our sentence batched with a longer one: rows [ours_right, other_right, ours_left, other_left]
  const other = tokenizer.encode(M.padding.other, M.model.max_length).ids;
  const T = Math.max(ids.length, other.length);
  const rows = sides.flatMap((side) => [ids, other].map((x) => padded(x, T - x.length, side, pad)));
  const out = await runGraph(rows.map((r) => r[0]), rows.map((r) => r[1]), fetches);
  const ours = [0, 2];
  lab.batched = {
    other: M.padding.other, pads: Math.max(0, other.length - ids.length),
    distance: ours.map((b) => names.map((p, i) => norm(rowsOf(out[`pooled[${p}]`])[b].map((x, j) => x - ref[i][j])))),
    cosine: ours.map((b) => names.map((p, i) => cosineTorch(rowsOf(out[`pooled[${p}]`])[b], ref[i]))),
    pred_alone: names.map((p, i) => pred.right[i][0]),
    pred_batched: ours.map((b) => names.map((p) => predOf(out, p, b))),
  };
  lab.timings = { padding_ms: performance.now() - t0, graph_runs: sweep.length + 1 };
  return lab;
}

// ---------------------------------------------------------------- views (views/explain.py, views/padding.py)

const DIVERGING = () => M.views.diverging;
const base = (title, height) => ({
  title: { text: title, x: 0, font: { size: 14 } }, height, margin: { l: 10, r: 10, t: 50, b: 10 },
  paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: { color: "#888888" },
  legend: { orientation: "h", y: -0.15 },
  xaxis: { automargin: true, gridcolor: "rgba(128,128,128,0.2)" }, yaxis: { automargin: true, gridcolor: "rgba(128,128,128,0.2)" },
});
const plot = (id, data, layout) => Plotly.react($(id), data, layout, { displaylogo: false, responsive: true });
function tokenAxis(tokens, maxLabels = 128) {
  const step = Math.max(1, Math.ceil(tokens.length / maxLabels)), vals = [], text = [];
  for (let i = 0; i < tokens.length; i += step) { vals.push(i); text.push(escapeHtml(tokens[i])); }
  return { tickmode: "array", tickvals: vals, ticktext: text };
}
const layerName = (l, L) => (l === 0 ? "embeddings (hidden_states[0])" : `layer ${l} of ${L} (hidden_states[${l}])`);

function namedShape(name, shape) {  // views.explain.named_shape
  const m = /^(?:(\d+) x )?\(([\d, ]*)\)$/.exec(shape.trim());
  const axes = M.views.axes[name] || (name.startsWith("pooled[") || name.startsWith("heads[") ? "BH" : null);
  if (!m || !axes) return shape;
  const dims = m[2].replaceAll(" ", "").split(",").filter(Boolean);
  if (dims.length !== axes.length) return shape;
  const inner = `(${dims.map((d, i) => `${axes[i]}=${d}`).join(", ")})`;
  return m[1] ? `L+1=${m[1]} x ${inner}` : inner;
}
const oneLine = (code) => code.split("\n").map((l) => l.trim()).filter(Boolean).join(" ⏎ ");

function table(id, headers, rows) {  // plain text cells: user text is never parsed as HTML
  const t = $(id);
  t.replaceChildren();
  const head = t.createTHead().insertRow();
  for (const h of headers) { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); }
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const v of row) tr.insertCell().textContent = v === null || v === undefined ? "" : String(v);
  }
}

function showPrediction(raw) {
  const box = $("prediction");
  box.replaceChildren();
  const head = document.createElement("p");
  head.innerHTML = `<b></b> (main head: <code></code> pooling, ${raw.tokens.length} tokens, T=${raw.tokens.length})`;
  head.querySelector("b").textContent = raw.label;
  head.querySelector("code").textContent = raw.main_pooling;
  box.appendChild(head);
  raw.labels.forEach((label, k) => {
    const row = document.createElement("div");
    row.className = "bar";
    row.innerHTML = '<span class="name"></span><span class="track"><span class="fill"></span></span><span class="pct"></span>';
    row.querySelector(".name").textContent = label;
    row.querySelector(".fill").style.width = `${(100 * raw.probs[k]).toFixed(1)}%`;
    row.querySelector(".fill").style.background = M.views.class_colours[k % M.views.class_colours.length];
    row.querySelector(".pct").textContent = `${(100 * raw.probs[k]).toFixed(1)}%`;
    box.appendChild(row);
  });
  const warn = [];
  if (raw.truncation_note) warn.push(`${raw.truncation_note} (the model reads at most ${raw.max_length}): the views show the first part only.`);
  const real = raw.tokens.slice(1, -1), unk = real.filter((t) => t === "[UNK]").length;
  if (real.length && unk / real.length >= M.views.unk_warning) {
    warn.push(`${unk} of ${real.length} tokens are [UNK] (words the tokenizer does not know): the model sees little of ` +
      "this text, so its prediction says little about it.");
  }
  $("warnings").replaceChildren(...warn.map((w) => Object.assign(document.createElement("p"), { textContent: `Warning: ${w}` })));
}

function showShapes(raw) {
  table("shape-table", M.views.shape_headers, raw.shapes.map((r) => [r.name, namedShape(r.name, r.shape), r.dtype, oneLine(r.note)]));
  table("token-table", ["position", "token", "id"], raw.tokens.map((t, i) => [i, t, raw.input_ids[i]]));
}

function showHidden(raw) {
  const L = raw.hidden_states.length - 1, layer = Math.min(Math.max(Number($("layer-slider").value), 0), L);
  $("layer-name").textContent = layerName(layer, L);
  const z = raw.hidden_states[layer], m = zmax(z), T = z.length, H = z[0].length;
  const hm = base(`Hidden states, ${layerName(layer, L)}: (T=${T}, H=${H})`, 160 + 13 * Math.min(T, 128));
  hm.yaxis = { ...hm.yaxis, autorange: "reversed", ...tokenAxis(raw.tokens) };
  hm.xaxis = { ...hm.xaxis, title: { text: "hidden dimension (H)" } };
  plot("hidden-heatmap", [{ type: "heatmap", z: rounded(z), zmin: -m, zmax: m, colorscale: DIVERGING(),
    hovertemplate: "token %{y}<br>dim %{x}<br>%{z}<extra></extra>" }], hm);
  const ticks = raw.hidden_states.map((_, l) => layerName(l, L).split(" (")[0]);
  const lay = base("How each token's vector changes across layers", 560);
  lay.grid = { rows: 2, columns: 1, pattern: "independent", ygap: 0.35 };
  const tickY = { tickmode: "array", tickvals: ticks.map((_, i) => i), ticktext: ticks, automargin: true };
  Object.assign(lay, { xaxis: { ...tokenAxis(raw.tokens), tickangle: -60, automargin: true }, xaxis2: { ...tokenAxis(raw.tokens), tickangle: -60, automargin: true },
    yaxis: tickY, yaxis2: tickY,
    annotations: [["norm of each token's vector", 1.0], ["cosine to the final [CLS]", 0.42]].map(([text, y]) =>
      ({ text, x: 0.5, y, xref: "paper", yref: "paper", showarrow: false, xanchor: "center", yanchor: "bottom" })) });
  plot("token-layers", [
    { type: "heatmap", z: rounded(raw.token_norms), colorscale: M.views.sequential, colorbar: { y: 0.8, len: 0.4 },
      hovertemplate: "layer %{y}<br>token %{x}<br>%{z}<extra></extra>" },
    { type: "heatmap", z: rounded(raw.cls_cosine), colorscale: DIVERGING(), zmin: -1, zmax: 1, colorbar: { y: 0.2, len: 0.4 },
      xaxis: "x2", yaxis: "y2", hovertemplate: "layer %{y}<br>token %{x}<br>%{z}<extra></extra>" },
  ], lay);
}

function pooledLabel(raw, p) {
  const hp = raw.heads[p];
  return hp ? `${p}: ${hp.label} ${hp.prob.toFixed(2)}` : `${p}: no head`;
}

function showPooling(raw) {
  const names = raw.names, z = names.map((p) => raw.pooled[p]), m = zmax(z), H = z[0].length;
  const lay = base(`Sentence vectors (B=1, H=${H}) per pooling, one colour scale [-${m}, ${m}]`, 120 + 26 * names.length);
  lay.yaxis = { ...lay.yaxis, autorange: "reversed", tickmode: "array", tickvals: names.map((_, i) => i),
    ticktext: names.map((p) => escapeHtml(pooledLabel(raw, p))) };  // labels come from the checkpoint: plotly renders HTML
  lay.xaxis = { ...lay.xaxis, title: { text: "hidden dimension" } };
  plot("pooled-vectors", [{ type: "heatmap", z: rounded(z), zmin: -m, zmax: m, colorscale: DIVERGING(),
    hovertemplate: "%{y}<br>dim %{x}<br>%{z}<extra></extra>" }], lay);
  table("pooling-table", M.views.pool_headers, names.map((p) => {
    const hp = raw.heads[p], rec = M.poolings[p];
    return [p, rec.kind, `(B=1, H=${H})`, decimals(norm(raw.pooled[p]), 3), hp ? hp.label : M.views.no_head,
      hp ? decimals(hp.prob, 3) : null, rec.description];
  }));
  const sim = base("Cosine similarity between pooling methods", 140 + 32 * names.length);
  sim.yaxis = { ...sim.yaxis, autorange: "reversed" };
  plot("pooling-cosine", [{ type: "heatmap", z: rounded(raw.similarity, 2), x: names, y: names, zmin: -1, zmax: 1,
    colorscale: DIVERGING(), texttemplate: "%{z:.2f}", hovertemplate: "%{y} vs %{x}: %{z}<extra></extra>" }], sim);
}

function showPadding(lab) {
  const sides = M.padding.sides, x = lab.n_pads.map((_, i) => i), data = [];
  const lay = base("Masked poolings stay put (flat at 0 and 1); naive ones (dashed) drift as N grows", 560);
  lay.grid = { rows: 2, columns: 2, pattern: "independent", xgap: 0.1, ygap: 0.12 };
  const titles = [];
  sides.forEach((side, r) => [["distance", "L2 distance to the N = 0 vector"], ["cosine", "cosine to the N = 0 vector"]]
    .forEach(([key, what], c) => {
      const k = 2 * r + c + 1, ax = k === 1 ? "" : String(k);
      titles.push(`${side} padding: ${what}`);
      lab.names.forEach((p, i) => data.push({
        type: "scatter", mode: "lines+markers", x, y: rounded(lab.sides[side][key][i], 4), name: p, legendgroup: p,
        showlegend: k === 1, xaxis: `x${ax}`, yaxis: `y${ax}`, customdata: lab.n_pads,
        line: { color: M.views.line_colours[i % M.views.line_colours.length], dash: lab.naive[i] ? "dash" : "solid", width: lab.naive[i] ? 3 : 1.5 },
        hovertemplate: `${p}<br>N = %{customdata}<br>%{y}<extra></extra>`,
      }));
      lay[`xaxis${ax}`] = { tickmode: "array", tickvals: x, ticktext: lab.n_pads.map(String), automargin: true,
        ...(r === 1 ? { title: { text: "N pad tokens" } } : {}) };
      lay[`yaxis${ax}`] = { automargin: true, title: { text: titles[titles.length - 1], font: { size: 11 } } };
    }));
  plot("padding-curves", data, lay);
  const label = (k) => (k >= 0 ? lab.labels[k] : "-");
  const last = lab.n_pads.length - 1;
  const cols = ["pooling", "kind", "head applied", "pred N=0", ...sides.flatMap((s) => [`${s} pred N=${lab.n_pads[last]}`, `${s} over the sweep`, `${s} distance`])];
  table("padding-table", cols, lab.names.map((p, i) => [p, lab.naive[i] ? "naive" : "masked", lab.heads[i] || "no head",
    label(lab.sides.right.pred[i][0]), ...sides.flatMap((s) => [label(lab.sides[s].pred[i][last]),
      lab.sides[s].flipped[i] ? "FLIPS" : "stable", sig(lab.sides[s].distance[i][last])])]));
  const masked = lab.naive.map((nv, i) => (nv ? -1 : i)).filter((i) => i >= 0);
  const worst = Math.max(...sides.flatMap((s) => masked.map((i) => Math.max(...lab.sides[s].distance[i]))));
  const drift = lab.names.filter((_, i) => lab.naive[i]).map((p) => {
    const i = lab.names.indexOf(p);
    return `${p} ${sig(Math.max(...sides.flatMap((s) => lab.sides[s].distance[i])))}`;
  });
  const flips = sides.flatMap((s) => lab.names.filter((_, i) => lab.sides[s].flipped[i]).map((p) => `${p} (${s})`));
  $("padding-summary").textContent = `${lab.tokens.length} tokens, N = ${lab.n_pads.join(", ")} pads. Largest change of ` +
    `any masked pooling over every N, both sides: ${worst.toExponential(1)} (float rounding: identical). Naive baselines ` +
    `drift up to ${drift.join(", ")}. Predictions that flip: ${flips.length ? flips.join(", ") : "none for this sentence"}. ` +
    `Batched with a longer sentence, ours gets ${lab.batched.pads} pads.`;
  table("batched-table", ["pooling", "alone", ...sides.flatMap((s) => [`${s} batched`, `${s} distance`, `${s} cosine`])],
    lab.names.map((p, i) => [p, label(lab.batched.pred_alone[i]), ...sides.flatMap((s, j) => [label(lab.batched.pred_batched[j][i]),
      sig(lab.batched.distance[j][i]), decimals(lab.batched.cosine[j][i], 6)])]));
}

// ---------------------------------------------------------------- the page

let queue = Promise.resolve();
let runs = 0;

function run(text) {  // one sentence at a time: ONNX Runtime runs one session call at a time
  queue = queue.then(() => update(text), () => update(text));
  return queue;
}

async function update(text) {
  $("error").textContent = "";
  document.body.dataset.state = "busy";
  try {
    const raw = await explainText(text);
    const t0 = performance.now();
    showPrediction(raw);
    showShapes(raw);
    showHidden(raw);
    showPooling(raw);
    raw.timings.render_ms = performance.now() - t0;
    window.explanationRaw = raw;
    window.explanation = toJson(raw);
    timings.first_prediction_ms = timings.first_prediction_ms || performance.now();
    const url = new URL(location.href);
    url.searchParams.set("sentence", text);
    history.replaceState(null, "", url);
    const n = Number($("n-pads").value);
    const lab = await paddingLab(raw, Number.isInteger(n) && n >= 0 && n <= M.padding.max_pads ? n : M.padding.n_pads);
    showPadding(lab);
    raw.padding = lab;
    timings.last = { ...raw.timings, padding_ms: lab.timings.padding_ms };
  } catch (e) {
    $("error").textContent = e instanceof InputError ? e.message : `error: ${e.message}`;
    if (!(e instanceof InputError)) console.error(e);
  } finally {
    runs += 1;
    document.body.dataset.runs = String(runs);
    document.body.dataset.state = "ready";
  }
}

function submit() { return run($("sentence").value); }

window.electraDemo = { run, explainText, toJson, paddingLab, ready: null };
window.addEventListener("DOMContentLoaded", () => {
  $("explain").addEventListener("click", submit);
  $("sentence").addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); } });
  $("layer-slider").addEventListener("input", () => { if (window.explanationRaw) showHidden(window.explanationRaw); });
  $("n-pads").addEventListener("change", () => { if (window.explanationRaw) submit(); });
  window.electraDemo.ready = load().catch((e) => { status(`could not start: ${e.message}`); console.error(e); throw e; });
});
