// pyflame-html's page: draws the report from the JSON in #pyfold-data (see html.hpp for its shape). Every text of
// the profile goes into the page through textContent or the canvas, never as markup.
(function () {
  "use strict";
  var timings = [], clock = performance.now();
  function lap(what) { var now = performance.now(); timings.push([what, Math.round(now - clock)]); clock = now; }
  var D = JSON.parse(document.getElementById("pyfold-data").textContent);
  lap("parse");
  var ROW = 18, STRIDE = D.differential ? 4 : 3;

  // ---- The tree: preorder arrays. The subtree of node i is [i, end[i]).
  // The file holds it as "tree" (a JSON array, four or three numbers a node) or, when every count is an integer,
  // as "tree64": base64 of unsigned LEB128 varints (frame id + 1, children, total, and the zigzag self delta).
  var n = D.nodes;
  var frame = new Int32Array(n), parent = new Int32Array(n), depth = new Int32Array(n), end = new Int32Array(n);
  var value = new Float64Array(n), x = new Float64Array(n), self = new Float64Array(n);
  var selfDelta = D.differential ? new Float64Array(n) : null, subDelta = D.differential ? new Float64Array(n) : null;
  (function () {
    var childCount = new Int32Array(n);
    if (D.tree64 !== undefined) {
      var bin = atob(D.tree64), pos = 0;
      var next = function () {
        var b = bin.charCodeAt(pos++);
        if (b < 128) return b;  // most numbers: one byte
        var v = b & 127, mul = 128;
        do { b = bin.charCodeAt(pos++); v += (b & 127) * mul; mul *= 128; } while (b & 128);
        return v;
      };
      for (var i = 0; i < n; i++) {
        frame[i] = next() - 1; childCount[i] = next(); value[i] = next();
        if (selfDelta) { var z = next(); selfDelta[i] = z % 2 ? -(z + 1) / 2 : z / 2; }
      }
    } else {
      for (i = 0; i < n; i++) {
        var b = i * STRIDE;
        frame[i] = D.tree[b]; childCount[i] = D.tree[b + 1]; value[i] = D.tree[b + 2];
        if (selfDelta) selfDelta[i] = D.tree[b + 3];
      }
    }
    // Open nodes on a typed stack: the node, its children still to come, the next child's x.
    var open = new Int32Array(n + 1), left = new Int32Array(n + 1), nextX = new Float64Array(n + 1), top = -1;
    for (i = 0; i < n; i++) {
      while (top >= 0 && left[top] === 0) { end[open[top]] = i; top--; }
      if (top >= 0) {
        var p = open[top];
        parent[i] = p; depth[i] = depth[p] + 1; x[i] = nextX[top];
        nextX[top] += value[i]; left[top]--;
      } else { parent[i] = -1; depth[i] = 0; x[i] = 0; }
      top++; open[top] = i; left[top] = childCount[i]; nextX[top] = x[i];
    }
    while (top >= 0) { end[open[top]] = n; top--; }
    for (i = 0; i < n; i++) self[i] = value[i];
    for (i = 1; i < n; i++) self[parent[i]] -= value[i];
    if (subDelta) for (i = n - 1; i >= 0; i--) { subDelta[i] += selfDelta[i]; if (i > 0) subDelta[parent[i]] += subDelta[i]; }
  })();
  D.tree = D.tree64 = null;
  lap("tree");

  // ---- Frames, functions, files and line keys.
  var F = D.frames.length / 2, funcs = D.functions, files = D.files;
  var frameFunc = new Int32Array(F), frameLine = new Float64Array(F), frameLineKey = new Int32Array(F);
  var lineKeyOf = new Map(), lineFile = [], lineNo = [];
  for (var f = 0; f < F; f++) {
    frameFunc[f] = D.frames[2 * f]; frameLine[f] = D.frames[2 * f + 1];
    var file = funcs[frameFunc[f]][1];
    frameLineKey[f] = -1;
    if (file >= 0 && frameLine[f] > 0) {
      var key = file + ":" + frameLine[f], k = lineKeyOf.get(key);
      if (k === undefined) { k = lineFile.length; lineKeyOf.set(key, k); lineFile.push(file); lineNo.push(frameLine[f]); }
      frameLineKey[f] = k;
    }
  }
  function fileOfFunc(fn) { return funcs[fn][1]; }
  function frameText(f) {
    var fn = funcs[frameFunc[f]], file = fn[1];
    if (file < 0) return fn[0];
    return fn[0] + " (" + files[file].path + (frameLine[f] > 0 ? ":" + frameLine[f] : "") + ")";
  }
  function frameLabel(f) {
    var fn = funcs[frameFunc[f]], file = fn[1];
    if (file < 0) return fn[0];
    return fn[0] + " (" + files[file].short + (frameLine[f] > 0 ? ":" + frameLine[f] : "") + ")";
  }
  function isRootFrame(f) {  // pyfold record --threads / --subprocesses roots
    var fn = funcs[frameFunc[f]];
    return fn[1] < 0 && (/^thread \((0x[0-9a-fA-F]+|[0-9]+)\)/.test(fn[0]) || /^process [0-9]+:"/.test(fn[0]));
  }

  // ---- Statistics of a subtree: per function, line and file, self and total (a stack counted once).
  function computeStats(root) {
    var nf = funcs.length, nl = lineFile.length, nfile = files.length;
    var s = { root: root, funcSelf: new Float64Array(nf), funcTotal: new Float64Array(nf),
      lineSelf: new Float64Array(nl), lineTotal: new Float64Array(nl),
      fileSelf: new Float64Array(nfile), fileTotal: new Float64Array(nfile),
      funcSelfD: null, funcTotalD: null, lineSelfD: null, lineTotalD: null };
    if (subDelta) {
      s.funcSelfD = new Float64Array(nf); s.funcTotalD = new Float64Array(nf);
      s.lineSelfD = new Float64Array(nl); s.lineTotalD = new Float64Array(nl);
    }
    var onFunc = new Int32Array(nf), onLine = new Int32Array(nl), onFile = new Int32Array(nfile);
    var path = [], base = depth[root];
    var first = root === 0 ? 1 : root;
    for (var i = first; i < end[root]; i++) {
      var d = depth[i] - base - (root === 0 ? 1 : 0);
      while (path.length > d) leave(path.pop());
      path.push(i);
      var f = frame[i], fn = frameFunc[f], lk = frameLineKey[f], file = fileOfFunc(fn);
      s.funcSelf[fn] += self[i];
      if (onFunc[fn]++ === 0) { s.funcTotal[fn] += value[i]; if (subDelta) s.funcTotalD[fn] += subDelta[i]; }
      if (subDelta) s.funcSelfD[fn] += selfDelta[i];
      if (lk >= 0) {
        s.lineSelf[lk] += self[i];
        if (subDelta) s.lineSelfD[lk] += selfDelta[i];
        if (onLine[lk]++ === 0) { s.lineTotal[lk] += value[i]; if (subDelta) s.lineTotalD[lk] += subDelta[i]; }
      }
      if (file >= 0) {
        s.fileSelf[file] += self[i];
        if (onFile[file]++ === 0) s.fileTotal[file] += value[i];
      }
    }
    function leave(j) {
      var f = frame[j], fn = frameFunc[f], lk = frameLineKey[f], file = fileOfFunc(fn);
      onFunc[fn]--; if (lk >= 0) onLine[lk]--; if (file >= 0) onFile[file]--;
    }
    // Each function's hottest line: its line with the largest total.
    s.hottest = new Float64Array(nf);
    for (f = 0; f < F; f++) {
      var k = frameLineKey[f]; if (k < 0) continue;
      var g = frameFunc[f], h = s.hottest[g];
      if (h === 0) { s.hottest[g] = frameLine[f]; continue; }
      var hk = lineKeyOf.get(fileOfFunc(g) + ":" + h);
      if (s.lineTotal[k] > s.lineTotal[hk] || (s.lineTotal[k] === s.lineTotal[hk] && frameLine[f] < h)) s.hottest[g] = frameLine[f];
    }
    return s;
  }

  // ---- Helpers.
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var a in attrs) e.setAttribute(a, attrs[a]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function num(v) {
    if (Math.round(v) === v) return v.toLocaleString("en-US");
    return v.toLocaleString("en-US", { maximumFractionDigits: 3 });
  }
  function signed(v) { return (v > 0 ? "+" : "") + num(v); }
  function pct(v, total) { return total > 0 ? (100 * v / total).toFixed(2) + "%" : "0%"; }
  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  // ---- State.
  var S = { viewRoot: 0, zoom: 0, inverted: !!D.inverted, search: null, matchedFrame: null,
    selectedFunc: -1, file: -1, line: 0, stats: null, sortKey: "self", sortDir: -1 };
  lap("frames");
  S.stats = computeStats(0);
  lap("stats");

  // ---- Page skeleton.
  var header = el("header");
  header.appendChild(el("h1", null, D.title));
  var summary = el("div", { id: "summary" });
  header.appendChild(summary);
  document.body.appendChild(header);
  var toolbar = el("div", { id: "toolbar" });
  var searchBox = el("input", { type: "search", id: "search", placeholder: "Search (regex) functions and files", "aria-label": "search" });
  var matched = el("span", { id: "matched" });
  var threadPick = el("select", { id: "thread", "aria-label": "thread" });
  var modeButton = el("button", { id: "mode", type: "button" });
  var resetButton = el("button", { id: "reset-zoom", type: "button" }, "Reset zoom");
  var filePick = el("select", { id: "file-pick", "aria-label": "source file" });
  toolbar.appendChild(searchBox); toolbar.appendChild(matched);
  toolbar.appendChild(el("label", { "for": "thread" }, "Thread")); toolbar.appendChild(threadPick);
  toolbar.appendChild(modeButton); toolbar.appendChild(resetButton);
  toolbar.appendChild(el("label", { "for": "file-pick" }, "File")); toolbar.appendChild(filePick);
  document.body.appendChild(toolbar);
  var flameBox = el("div", { id: "flame-box" });
  var canvas = el("canvas", { id: "flame" });
  flameBox.appendChild(canvas);
  document.body.appendChild(flameBox);
  var tooltip = el("div", { id: "tooltip", role: "tooltip" });
  document.body.appendChild(tooltip);
  var lower = el("div", { id: "lower" });
  var hot = el("div", { id: "hotspots" });
  var source = el("div", { id: "source" });
  lower.appendChild(hot); lower.appendChild(source);
  document.body.appendChild(lower);

  // ---- Summary.
  function renderSummary() {
    while (summary.firstChild) summary.removeChild(summary.firstChild);
    function item(label, v) {
      var span = el("span", null, label + " ");
      span.appendChild(el("b", null, v));
      summary.appendChild(span); summary.appendChild(document.createTextNode("  \u00b7  "));
    }
    item(D.differential ? "samples (after)" : "samples", num(D.total));
    var hdr = {};
    D.header.forEach(function (kv) { hdr[kv[0].toLowerCase()] = kv[1]; });
    if (hdr.duration) item("duration", hdr.duration);
    if (hdr.rate) item("rate", hdr.rate);
    if (hdr.interval) item("interval", hdr.interval);
    if (hdr.mode) item("mode", hdr.mode);
    if (D.differential) {
      var before = D.total - subDelta[0];
      item("before", num(before));
      item("change", signed(subDelta[0]));
    }
    item("functions", num(funcs.length));
    item("files", num(files.length));
    item("profile", D.name);
    if (D.date) item("date", D.date);
    if (summary.lastChild) summary.removeChild(summary.lastChild);
  }
  renderSummary();

  // ---- Thread picker: the process and thread roots of the recording.
  var threadRoots = [0];
  (function () {
    threadPick.appendChild(el("option", { value: "0" }, "all"));
    function walkRoots(p, prefix) {
      for (var c = p + 1; c < end[p]; c = end[c]) {
        if (!isRootFrame(frame[c])) continue;
        threadRoots.push(c);
        var text = prefix + funcs[frameFunc[frame[c]]][0];
        threadPick.appendChild(el("option", { value: String(c) }, text + "  (" + pct(value[c], value[0]) + ")"));
        if (/^process /.test(funcs[frameFunc[frame[c]]][0])) walkRoots(c, "\u2003");
      }
    }
    walkRoots(0, "");
    if (threadRoots.length === 1) threadPick.disabled = true;
  })();
  threadPick.addEventListener("change", function () {
    S.viewRoot = Number(threadPick.value); S.zoom = S.viewRoot;
    S.stats = computeStats(S.viewRoot);
    drawFlame(); renderTable(); if (S.file >= 0) openFile(S.file, S.line, false); updateMatched();
  });

  // ---- The flame graph (canvas).
  var ctx = canvas.getContext("2d");
  var layout = { width: 0, maxDepth: 0, scale: 1, x0: 0, base: 0 };
  var dpr = window.devicePixelRatio || 1;
  function viewDepth(i) { return depth[i] - depth[S.viewRoot]; }
  function maxDepthOf(root) {
    var m = 0;
    for (var i = root; i < end[root]; i++) if (depth[i] > m) m = depth[i];
    return m - depth[root];
  }
  var maxDepthCache = new Map();
  function colorOf(i) {
    var f = frame[i];
    if (S.matchedFrame && S.matchedFrame[f]) return searchColor;
    if (subDelta) {
      var dv = selfDelta[i], m = maxAbsDelta || 1, t = Math.min(1, Math.abs(dv) / m);
      if (dv > 0) return "rgb(255," + Math.round(230 * (1 - t)) + "," + Math.round(230 * (1 - t)) + ")";
      if (dv < 0) return "rgb(" + Math.round(230 * (1 - t)) + "," + Math.round(230 * (1 - t)) + ",255)";
      return "rgb(238,238,238)";
    }
    var cached = frameColor[f];
    if (cached !== undefined) return cached;
    return (frameColor[f] = paletteColor(f));
  }
  var frameColor = new Array(F);
  function paletteColor(f) {
    var fn = frameFunc[f], file = fileOfFunc(fn), h = hashName(funcs[fn][0]);
    if (file < 0) return "rgb(" + (170 + h % 30) + "," + (170 + h % 30) + "," + (178 + h % 30) + ")";
    var p = files[file].path;
    if (/\/(site|dist)-packages\//.test(p)) return "rgb(" + (60 + h % 50) + "," + (170 + h % 50) + "," + (110 + h % 40) + ")";
    if (/\/lib\/python[0-9]/.test(p) || p.charAt(0) === "<") return "rgb(" + (80 + h % 40) + "," + (150 + h % 50) + "," + (215 + h % 40) + ")";
    return "rgb(" + (225 + h % 30) + "," + (110 + h % 90) + "," + (40 + h % 40) + ")";
  }
  var maxAbsDelta = 0;
  if (selfDelta) for (var di = 1; di < n; di++) maxAbsDelta = Math.max(maxAbsDelta, Math.abs(selfDelta[di]));
  var nameHash = new Map();
  function hashName(s) {
    var h = nameHash.get(s);
    if (h !== undefined) return h;
    h = 0;
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
    nameHash.set(s, h);
    return h;
  }
  // Where node i is drawn, in canvas CSS pixels; null when outside the view or under a pixel wide.
  function rectOf(i) {
    var z = S.zoom, r = S.viewRoot;
    if (i < r || i >= end[r]) return null;
    var inZoom = i >= z && i < end[z], isAncestor = i < z && z < end[i];
    if (!inZoom && !isAncestor) return null;
    var left = inZoom ? (x[i] - x[z]) * layout.scale : 0;
    var w = inZoom ? value[i] * layout.scale : layout.width;
    var d = viewDepth(i);
    var y = S.inverted ? d * ROW : (layout.maxDepth - d) * ROW;
    return { x: left, y: y, w: w, h: ROW - 1 };
  }
  var searchColor = "#e600e6";
  function drawFlame() {
    searchColor = css("--search") || "#e600e6";
    var r = S.viewRoot, z = S.zoom;
    var md = maxDepthCache.get(r);
    if (md === undefined) { md = maxDepthOf(r); maxDepthCache.set(r, md); }
    layout.maxDepth = md;
    layout.width = Math.max(300, flameBox.clientWidth || document.documentElement.clientWidth - 4);
    layout.scale = value[z] > 0 ? layout.width / value[z] : 0;
    var height = (md + 1) * ROW;
    canvas.style.width = layout.width + "px"; canvas.style.height = height + "px";
    canvas.width = Math.round(layout.width * dpr); canvas.height = Math.round(height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, layout.width, height);
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    var charW = ctx.measureText("abcdefghijklmnopqrstuvwxyz").width / 26;
    var selected = S.selectedFunc;
    // Ancestors of the zoomed node, full width.
    for (var a = parent[z]; a >= r && a >= 0; a = parent[a]) drawNode(a);
    // The zoomed subtree, skipping subtrees under half a pixel.
    var i = z;
    while (i < end[z]) {
      if (value[i] * layout.scale < 0.5) { i = end[i]; continue; }
      drawNode(i);
      i++;
    }
    function drawNode(j) {
      if (j === 0 && r === 0 && frame[j] < 0) { box(j, "all", "all (" + num(value[0]) + " samples)", "rgb(200,200,205)"); return; }
      box(j, frameLabel(frame[j]), null, colorOf(j));
    }
    function box(j, label, _, color) {
      var rc = rectOf(j);
      if (!rc) return;
      ctx.fillStyle = color;
      ctx.fillRect(rc.x, rc.y, Math.max(rc.w - 0.5, 0.5), rc.h);
      if (selected >= 0 && frame[j] >= 0 && frameFunc[frame[j]] === selected) {
        ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
        ctx.strokeRect(rc.x + 1, rc.y + 1, Math.max(rc.w - 2.5, 0.5), rc.h - 2);
      }
      var chars = Math.floor((rc.w - 6) / charW);
      if (chars < 3) return;
      var text = label.length <= chars ? label : label.slice(0, chars - 2) + "..";
      ctx.fillStyle = "#000";
      ctx.fillText(text, rc.x + 3, rc.y + ROW / 2);
    }
    resetButton.disabled = z === r;
    modeButton.textContent = S.inverted ? "Flame graph" : "Icicle graph";
    modeButton.setAttribute("aria-pressed", S.inverted ? "true" : "false");
  }
  function nodeAt(px, py) {
    var d = S.inverted ? Math.floor(py / ROW) : layout.maxDepth - Math.floor(py / ROW);
    if (d < 0) return -1;
    var z = S.zoom, r = S.viewRoot;
    // An ancestor row?
    for (var a = z; a >= r && a >= 0; a = parent[a]) if (viewDepth(a) === d) return a;
    // Inside the zoomed subtree: descend by x.
    var want = x[z] + px / layout.scale, i = z;
    while (viewDepth(i) < d) {
      var found = -1;
      for (var c = i + 1; c < end[i]; c = end[c]) if (want >= x[c] && want < x[c] + value[c]) { found = c; break; }
      if (found < 0) return -1;
      i = found;
    }
    return viewDepth(i) === d ? i : -1;
  }
  function nodeTitle(i) {
    var name = frame[i] < 0 ? "all" : frameText(frame[i]);
    var t = name + "\n" + num(value[i]) + " samples, " + pct(value[i], value[S.viewRoot]) + " (self " + num(self[i]) + ")";
    if (subDelta) t += "\nchange " + signed(subDelta[i]) + " (self " + signed(selfDelta[i]) + ")";
    if (S.zoom !== S.viewRoot && i >= S.zoom && i < end[S.zoom]) t += ", " + pct(value[i], value[S.zoom]) + " of the zoomed frame";
    return t;
  }
  canvas.addEventListener("mousemove", function (e) {
    var b = canvas.getBoundingClientRect(), i = nodeAt(e.clientX - b.left, e.clientY - b.top);
    if (i < 0) { tooltip.style.display = "none"; return; }
    tooltip.textContent = nodeTitle(i);
    tooltip.style.display = "block";
    tooltip.style.left = Math.min(e.clientX + 12, window.innerWidth - 420) + "px";
    tooltip.style.top = (e.clientY + 14) + "px";
  });
  canvas.addEventListener("mouseleave", function () { tooltip.style.display = "none"; });
  canvas.addEventListener("click", function (e) {
    var b = canvas.getBoundingClientRect(), i = nodeAt(e.clientX - b.left, e.clientY - b.top);
    if (i < 0) return;
    zoomTo(i);
    if (frame[i] >= 0) {
      var f = frame[i], fn = frameFunc[f];
      selectFunction(fn, frameLine[f] > 0 ? frameLine[f] : 0, false);
    }
  });
  function zoomTo(i) { S.zoom = i; drawFlame(); updateMatched(); }
  resetButton.addEventListener("click", function () { zoomTo(S.viewRoot); });
  modeButton.addEventListener("click", function () { S.inverted = !S.inverted; drawFlame(); });

  // ---- Search: a regex (or literal text when it is not one) over the frames' full text.
  var searchTimer = 0;
  searchBox.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () { setSearch(searchBox.value); }, 120);
  });
  function setSearch(term) {
    if (!term) { S.search = null; S.matchedFrame = null; }
    else {
      var re;
      try { re = new RegExp(term); } catch (err) { re = new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")); }
      S.search = re;
      S.matchedFrame = new Uint8Array(F);
      for (var f = 0; f < F; f++) S.matchedFrame[f] = re.test(frameText(f)) ? 1 : 0;
    }
    drawFlame(); renderTable(); updateMatched();
  }
  // The share of the zoomed frame's samples whose stacks hold a match: matched nodes without a matched ancestor.
  function matchedShare() {
    var z = S.zoom, m = S.matchedFrame;
    if (!m) return null;
    for (var a = z; a >= 0; a = parent[a]) if (frame[a] >= 0 && m[frame[a]]) return value[z];
    var sum = 0, i = z + 1;
    while (i < end[z]) { if (m[frame[i]]) { sum += value[i]; i = end[i]; } else i++; }
    return sum;
  }
  function updateMatched() {
    var s = matchedShare();
    matched.textContent = s === null ? "" : "Matched: " + num(s) + " samples, " +
      (value[S.zoom] > 0 ? (s === value[S.zoom] ? "100%" : (100 * s / value[S.zoom]).toFixed(1) + "%") : "0%");
  }

  // ---- Hot spots: the function table.
  var hotNote = el("div", { id: "hot-note" });
  var table = el("table", { id: "functions" });
  hot.appendChild(table); hot.appendChild(hotNote);
  var MAX_ROWS = 500;
  var columns = [["name", "Function", false], ["self", "Self", true], ["selfPct", "Self %", true],
    ["total", "Total", true], ["totalPct", "Total %", true]];
  if (subDelta) columns.push(["selfDelta", "\u0394 self", true], ["totalDelta", "\u0394 total", true]);
  function sortValue(fn, key) {
    var s = S.stats;
    switch (key) {
      case "name": return funcs[fn][0];
      case "self": case "selfPct": return s.funcSelf[fn];
      case "total": case "totalPct": return s.funcTotal[fn];
      case "selfDelta": return s.funcSelfD[fn];
      case "totalDelta": return s.funcTotalD[fn];
    }
    return 0;
  }
  function renderTable() {
    while (table.firstChild) table.removeChild(table.firstChild);
    var head = el("tr");
    columns.forEach(function (c) {
      var th = el("th", { "data-key": c[0], "class": c[2] ? "num" : "" }, c[1]);
      if (S.sortKey === c[0]) th.setAttribute("aria-sort", S.sortDir < 0 ? "descending" : "ascending");
      th.addEventListener("click", function () {
        if (S.sortKey === c[0]) S.sortDir = -S.sortDir; else { S.sortKey = c[0]; S.sortDir = c[2] ? -1 : 1; }
        renderTable();
      });
      head.appendChild(th);
    });
    var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
    var s = S.stats, total = value[S.viewRoot], rows = [];
    for (var fn = 0; fn < funcs.length; fn++) {
      if (s.funcTotal[fn] === 0 && s.funcSelf[fn] === 0 && !(s.funcTotalD && s.funcTotalD[fn] !== 0)) continue;
      if (S.search && !S.search.test(funcText(fn))) continue;
      rows.push(fn);
    }
    var key = S.sortKey, dir = S.sortDir;
    rows.sort(function (a, b) {
      var va = sortValue(a, key), vb = sortValue(b, key);
      if (va < vb) return -dir; if (va > vb) return dir;
      return s.funcTotal[b] - s.funcTotal[a] || (funcs[a][0] < funcs[b][0] ? -1 : 1);
    });
    var body = el("tbody");
    rows.slice(0, MAX_ROWS).forEach(function (fn) {
      var tr = el("tr", { "class": "fn" + (fn === S.selectedFunc ? " selected" : ""), "data-function": String(fn) });
      var name = el("td");
      name.appendChild(el("div", null, funcs[fn][0]));
      var file = fileOfFunc(fn);
      if (file >= 0) name.appendChild(el("div", { "class": "where" }, files[file].short + (s.hottest[fn] ? ":" + s.hottest[fn] : "")));
      name.title = funcText(fn);
      tr.appendChild(name);
      tr.appendChild(el("td", { "class": "num" }, num(s.funcSelf[fn])));
      tr.appendChild(el("td", { "class": "num" }, pct(s.funcSelf[fn], total)));
      tr.appendChild(el("td", { "class": "num" }, num(s.funcTotal[fn])));
      tr.appendChild(el("td", { "class": "num" }, pct(s.funcTotal[fn], total)));
      if (subDelta) {
        tr.appendChild(el("td", { "class": "num" }, signed(s.funcSelfD[fn])));
        tr.appendChild(el("td", { "class": "num" }, signed(s.funcTotalD[fn])));
      }
      tr.addEventListener("click", function () { selectFunction(fn, 0, true); });
      body.appendChild(tr);
    });
    table.appendChild(body);
    hotNote.textContent = rows.length > MAX_ROWS ? "showing " + MAX_ROWS + " of " + num(rows.length) + " functions (search to narrow)"
      : num(rows.length) + " functions";
  }
  function funcText(fn) {
    var file = fileOfFunc(fn);
    return file < 0 ? funcs[fn][0] : funcs[fn][0] + " (" + files[file].path + ")";
  }
  // Highlights a function in the flame graph and opens its source at line (its hottest line when 0).
  function selectFunction(fn, line, fromTable) {
    S.selectedFunc = fn;
    drawFlame();
    var rows = table.querySelectorAll("tr.fn");
    for (var i = 0; i < rows.length; i++) rows[i].classList.toggle("selected", Number(rows[i].getAttribute("data-function")) === fn);
    var file = fileOfFunc(fn);
    if (file >= 0) openFile(file, line || S.stats.hottest[fn], true);
    if (fromTable) {
      // Bring its widest frame into view in the flame graph.
      var best = -1;
      for (var j = S.zoom; j < end[S.zoom]; j++) if (frame[j] >= 0 && frameFunc[frame[j]] === fn && (best < 0 || value[j] > value[best])) best = j;
      var rc = best >= 0 ? rectOf(best) : null;
      if (rc) flameBox.scrollTop = Math.max(0, rc.y - flameBox.clientHeight / 2);
    }
  }

  // ---- Source heatmap.
  var sourceHead = el("div", { id: "source-head" });
  var sourcePath = el("span", { id: "source-path" });
  var legend = el("span", { id: "legend" });
  sourceHead.appendChild(sourcePath); sourceHead.appendChild(legend);
  var sourceNote = el("div", { id: "source-note" }, "Click a function in the table or a frame in the flame graph to see its source.");
  var sourceBody = el("div", { id: "source-body" });
  var sourceScroll = el("div", { id: "source-scroll" });
  var sourceTable = el("table", { id: "source-table" });
  var minimap = el("canvas", { id: "minimap" });
  sourceScroll.appendChild(sourceTable);
  sourceBody.appendChild(sourceScroll); sourceBody.appendChild(minimap);
  var calls = el("div", { id: "calls" });
  source.appendChild(sourceHead); source.appendChild(sourceNote); source.appendChild(sourceBody); source.appendChild(calls);

  // The file picker: every file, hottest first; a file whose source could not be read is listed too.
  (function () {
    var order = files.map(function (_, i) { return i; });
    order.sort(function (a, b) { return S.stats.fileTotal[b] - S.stats.fileTotal[a] || (files[a].path < files[b].path ? -1 : 1); });
    filePick.appendChild(el("option", { value: "-1" }, "(choose a file)"));
    order.forEach(function (i) {
      filePick.appendChild(el("option", { value: String(i) }, files[i].short + "  (" + pct(S.stats.fileTotal[i], D.total) + ")" + (files[i].source ? "" : " [no source]")));
    });
  })();
  filePick.addEventListener("change", function () { var i = Number(filePick.value); if (i >= 0) openFile(i, 0, true); });

  function heat(share, max) {  // background of a line with this share of the samples
    if (share <= 0 || max <= 0) return "";
    var t = Math.sqrt(Math.min(1, share / max));
    return "rgba(255," + Math.round(140 - 100 * t) + ",0," + (0.12 + 0.6 * t).toFixed(3) + ")";
  }
  function diffHeat(delta, max) {
    if (!delta || max <= 0) return "";
    var t = Math.sqrt(Math.min(1, Math.abs(delta) / max)), a = (0.12 + 0.6 * t).toFixed(3);
    return delta > 0 ? "rgba(230,30,30," + a + ")" : "rgba(40,90,255," + a + ")";
  }
  function drawLegend(max, diff) {
    while (legend.firstChild) legend.removeChild(legend.firstChild);
    var c = el("canvas", { width: "120", height: "12" }), g = c.getContext("2d");
    for (var px = 0; px < 120; px++) {
      var v = (px + 0.5) / 120;
      g.fillStyle = diff ? diffHeat((v * 2 - 1) * max, max) || "rgba(0,0,0,0)" : heat(v * v * max, max);
      g.fillRect(px, 0, 1, 12);
    }
    if (diff) {
      legend.appendChild(el("span", null, "\u2212" + num(max)));
      legend.appendChild(c);
      legend.appendChild(el("span", null, "+" + num(max) + " samples: a line's change in total (red: more, blue: fewer)"));
    } else {
      legend.appendChild(el("span", null, "0"));
      legend.appendChild(c);
      legend.appendChild(el("span", null, pct(max, value[S.viewRoot]) + " of the samples: a line's total (its stacks, once each); gutter: self, total"));
    }
  }
  function openFile(file, line, scroll) {
    S.file = file; S.line = line || 0;
    filePick.value = String(file);
    var info = files[file], s = S.stats;
    sourcePath.textContent = info.path;
    sourceNote.textContent = info.source ? "" : "Source not available (" + (info.why || "unreadable") + "): the lines' counts only.";
    var counted = [];
    for (var k = 0; k < lineFile.length; k++) if (lineFile[k] === file && (s.lineTotal[k] > 0 || s.lineSelf[k] > 0 || (s.lineTotalD && s.lineTotalD[k]))) counted.push(k);
    var max = 0;
    counted.forEach(function (k) { max = Math.max(max, subDelta ? Math.abs(s.lineTotalD[k]) : s.lineTotal[k]); });
    drawLegend(max, !!subDelta);
    var byLine = new Map();
    counted.forEach(function (k) { byLine.set(lineNo[k], k); });
    while (sourceTable.firstChild) sourceTable.removeChild(sourceTable.firstChild);
    var body = el("tbody"), lines = [];
    if (info.source) {
      for (var l = 1; l <= info.source.length; l++) lines.push(l);
      counted.forEach(function (k) { if (lineNo[k] > info.source.length) lines.push(lineNo[k]); });
    } else {
      lines = counted.map(function (k) { return lineNo[k]; }).sort(function (a, b) { return a - b; });
    }
    var current = null;
    lines.forEach(function (l) {
      var k = byLine.get(l), tr = el("tr", { "data-line": String(l) });
      var selfCell = el("td", { "class": "g self" }, k === undefined ? "" : num(s.lineSelf[k]));
      var totalCell = el("td", { "class": "g total" }, k === undefined ? "" : num(s.lineTotal[k]));
      tr.appendChild(selfCell); tr.appendChild(totalCell);
      if (subDelta) tr.appendChild(el("td", { "class": "g delta" }, k === undefined ? "" : signed(s.lineTotalD[k])));
      tr.appendChild(el("td", { "class": "n" }, l));
      tr.appendChild(el("td", { "class": "code" }, info.source && l <= info.source.length ? info.source[l - 1] : ""));
      if (k !== undefined) {
        tr.className = "counted";
        var bg = subDelta ? diffHeat(s.lineTotalD[k], max) : heat(s.lineTotal[k], max);
        if (bg) tr.style.background = bg;
        tr.title = num(s.lineSelf[k]) + " self, " + num(s.lineTotal[k]) + " total (" + pct(s.lineTotal[k], value[S.viewRoot]) + ")";
        tr.addEventListener("click", function () { showCalls(file, l); markLine(tr); });
      }
      if (l === S.line) current = tr;
      body.appendChild(tr);
    });
    sourceTable.appendChild(body);
    drawMinimap(lines, byLine, max);
    if (current) {
      markLine(current);
      if (scroll) sourceScroll.scrollTop = Math.max(0, current.offsetTop - sourceScroll.clientHeight / 3);
      showCalls(file, S.line);
    } else {
      while (calls.firstChild) calls.removeChild(calls.firstChild);
    }
  }
  function markLine(tr) {
    var old = sourceTable.querySelectorAll("tr.current");
    for (var i = 0; i < old.length; i++) old[i].classList.remove("current");
    tr.classList.add("current");
    S.line = Number(tr.getAttribute("data-line"));
  }
  function drawMinimap(lines, byLine, max) {
    var h = Math.max(60, sourceScroll.clientHeight || 300);
    minimap.width = 14; minimap.height = h; minimap.style.height = h + "px";
    var g = minimap.getContext("2d"), count = lines.length || 1, s = S.stats;
    g.clearRect(0, 0, 14, h);
    lines.forEach(function (l, idx) {
      var k = byLine.get(l);
      if (k === undefined) return;
      g.fillStyle = subDelta ? diffHeat(s.lineTotalD[k], max) : heat(s.lineTotal[k], max);
      g.fillRect(0, Math.floor(idx / count * h), 14, Math.max(2, h / count));
    });
    minimap.onclick = function (e) {
      var b = minimap.getBoundingClientRect(), frac = (e.clientY - b.top) / b.height;
      sourceScroll.scrollTop = frac * sourceScroll.scrollHeight - sourceScroll.clientHeight / 2;
    };
  }
  // Callers and callees of a line: the frames just below and above its frames in the stacks.
  function showCalls(file, line) {
    while (calls.firstChild) calls.removeChild(calls.firstChild);
    var k = lineKeyOf.get(file + ":" + line);
    if (k === undefined) return;
    var callers = new Map(), callees = new Map(), r = S.viewRoot;
    for (var i = r; i < end[r]; i++) {
      if (frame[i] < 0 || frameLineKey[frame[i]] !== k) continue;
      var p = parent[i];
      if (p >= 0 && frame[p] >= 0) callers.set(frame[p], (callers.get(frame[p]) || 0) + value[i]);
      for (var c = i + 1; c < end[i]; c = end[c]) callees.set(frame[c], (callees.get(frame[c]) || 0) + value[c]);
    }
    function list(title, map, id) {
      var box = el("div", { id: id });
      box.appendChild(el("h3", null, title + " line " + line));
      var ul = el("ul");
      Array.from(map.entries()).sort(function (a, b) { return b[1] - a[1]; }).slice(0, 200).forEach(function (e) {
        var li = el("li");
        li.appendChild(el("span", { "class": "num" }, num(e[1])));
        li.appendChild(document.createTextNode(frameLabel(e[0])));
        li.title = frameText(e[0]);
        li.addEventListener("click", function () {
          var fn = frameFunc[e[0]];
          selectFunction(fn, frameLine[e[0]], false);
        });
        ul.appendChild(li);
      });
      if (!map.size) ul.appendChild(el("li", null, "none"));
      box.appendChild(ul);
      calls.appendChild(box);
    }
    list("Callers of", callers, "callers");
    list("Calls made by", callees, "callees");
  }

  window.addEventListener("resize", function () { drawFlame(); });
  // Ctrl-F and F3 go to the report's search, as in pyflame-svg's graphs.
  window.addEventListener("keydown", function (e) {
    if ((e.ctrlKey && (e.key === "f" || e.key === "F")) || e.key === "F3") {
      e.preventDefault();
      searchBox.focus();
      searchBox.select();
    }
  });
  lap("skeleton");
  drawFlame();
  if (!S.inverted) flameBox.scrollTop = flameBox.scrollHeight;  // the root is at the bottom
  lap("flame");
  renderTable();
  lap("table");
  updateMatched();
  // Open on the source of the hottest function that has a file.
  (function () {
    var best = -1;
    for (var fn = 0; fn < funcs.length; fn++)
      if (fileOfFunc(fn) >= 0 && (best < 0 || S.stats.funcSelf[fn] > S.stats.funcSelf[best])) best = fn;
    if (best >= 0) openFile(fileOfFunc(best), S.stats.hottest[best], true);
  })();
  lap("source");
  // For tests and scripts: where things are, read-only.
  window.pyfoldReport = {
    data: D, nodeCount: n, frameText: function (i) { return frame[i] < 0 ? "all" : frameText(frame[i]); },
    value: function (i) { return value[i]; }, rectOf: rectOf, nodeAt: nodeAt, state: S,
    findNode: function (texts) {  // the node of a path of frame texts from the root (or the view's root)
      var i = 0;
      for (var t = 0; t < texts.length; t++) {
        var found = -1;
        for (var c = i + 1; c < end[i]; c = end[c]) if (frameText(frame[c]) === texts[t]) { found = c; break; }
        if (found < 0) return -1;
        i = found;
      }
      return i;
    },
    timings: timings, ready: true
  };
  document.body.setAttribute("data-ready", "1");
})();
