/*
 * pyfold flamegraph.js: the interactive part of every SVG written by pyflame-svg.
 *
 * The SVG defines `var fg_config = {...}` before this script and calls init(evt) from the root element's onload.
 * The contract between the renderer and this script (element ids, fg:x/fg:w, label rule, URL state) is
 * src/core/render/assets/README.md.  Plain ES5 plus Array.from (with a fallback), no dependencies, no innerHTML.
 *
 * All zoom and "Matched" arithmetic uses the frames' fg:x / fg:w attributes (sample units), never pixel values.
 */
var init = (function () {
	"use strict";

	var cfg = null;            // fg_config merged with defaults
	var framesEl, detailsEl, unzoomBtn, searchBtn, icBtn, matchedEl;
	var frames = [];           // one record per frame, document order
	var root = null;           // the widest frame ("all")
	var zoomed = null;         // frame record zoomed to, or null
	var term = null;           // current search term, or null when not searching
	var ignoreCase = false;
	var started = false;

	// ---------------------------------------------------------------- helpers

	function num(v, d) {
		var n = parseFloat(v);
		return isFinite(n) ? n : d;
	}

	function fmt(v) {
		// Pixel coordinates: two decimals are plenty and keep the DOM small.
		return (Math.round(v * 100) / 100).toString();
	}

	function setText(el, s) {
		if (el && el.textContent !== s) el.textContent = s;
	}

	function codePoints(s) {
		if (typeof Array.from === "function") return Array.from(s);
		return s.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]|[\s\S]/g) || [];
	}

	function childByName(el, name) {
		for (var c = el.firstElementChild; c; c = c.nextElementSibling) {
			if (c.localName === name) return c;
		}
		return null;
	}

	// ---------------------------------------------------------------- frames

	function makeFrame(el) {
		var rect = childByName(el, "rect");
		if (!rect) return null;
		var titleEl = childByName(el, "title");
		var title = titleEl ? titleEl.textContent : "";
		var f = {
			el: el,
			rect: rect,
			text: childByName(el, "text"),
			title: title,
			// NAME (N samples, P%) -> NAME; the name itself may end in "(file:line)".
			name: title.replace(/ ?\([^()]*\)$/, ""),
			// The drawn text: fg:label (--colors python's short label) or the name; search and details use name.
			label: rect.getAttribute("fg:label"),
			cps: null,            // code points of the label, computed on first use
			fx: num(rect.getAttribute("fg:x"), 0),
			fw: num(rect.getAttribute("fg:w"), 0),
			y: num(rect.getAttribute("y"), 0),
			state: 0,             // 0 shown, 1 parent, 2 hidden
			moved: false,         // x/width/label differ from what the renderer wrote
			orig: null,           // {x, width, tx, label} as written by the renderer
			origFill: null,       // fill before search colouring, null when not coloured
			matched: false
		};
		el._fgFrame = f;
		return f;
	}

	function frameOf(node) {
		while (node && node !== framesEl) {
			var parent = node.parentNode;
			if (parent === framesEl) return node._fgFrame || null;
			node = parent;
		}
		return null;
	}

	// The label rule shared with the renderer (see README.md).
	function fitLabel(f, width) {
		var chars = Math.floor(width / (cfg.fontsize * cfg.fontwidth));  // flamegraph.pl's rule
		if (!(chars >= 3)) return "";
		var text = f.label || f.name;
		if (text.length <= chars) return text;         // UTF-16 length >= code point count
		var cps = f.cps || (f.cps = codePoints(text));
		if (cps.length <= chars) return text;
		return cps.slice(0, chars - 2).join("") + "..";
	}

	function place(f, x, w) {
		if (!f.moved) {
			f.orig = {
				x: f.rect.getAttribute("x"),
				width: f.rect.getAttribute("width"),
				tx: f.text ? f.text.getAttribute("x") : null,
				label: f.text ? f.text.textContent : null
			};
			f.moved = true;
		}
		f.rect.setAttribute("x", fmt(x));
		f.rect.setAttribute("width", fmt(w));
		if (f.text) {
			f.text.setAttribute("x", fmt(x + 3));
			setText(f.text, fitLabel(f, w));
		}
	}

	function restore(f) {
		if (!f.moved) return;
		f.rect.setAttribute("x", f.orig.x);
		f.rect.setAttribute("width", f.orig.width);
		if (f.text) {
			if (f.orig.tx !== null) f.text.setAttribute("x", f.orig.tx);
			setText(f.text, f.orig.label);
		}
		f.moved = false;
		f.orig = null;
	}

	function setState(f, state) {
		if (f.state === state) return;
		var cl = f.el.classList;
		if (state === 1) cl.add("parent"); else cl.remove("parent");
		if (state === 2) cl.add("hide"); else cl.remove("hide");
		f.state = state;
	}

	// Is f on the root side of depth y?
	function above(f, y) {
		return cfg.inverted ? f.y < y : f.y > y;
	}

	// ---------------------------------------------------------------- zoom

	function zoom(target) {
		if (!target || !(target.fw > 0)) return;
		var zx = target.fx, zw = target.fw, zend = zx + zw;
		var full = cfg.width - 2 * cfg.xpad;
		var ratio = full / zw;
		var states = new Array(frames.length);
		var anyParent = false;
		var i, f, ov;

		// Classify by interval overlap: in a tree, a frame at the target's depth or deeper is either inside the
		// target's interval or disjoint from it, and one nearer the root either contains it or is disjoint.
		// Comparing the overlap with half a width makes this immune to float rounding without an epsilon.
		for (i = 0; i < frames.length; i++) {
			f = frames[i];
			ov = Math.min(f.fx + f.fw, zend) - Math.max(f.fx, zx);
			if (f === target) {
				states[i] = 0;
			} else if (above(f, target.y)) {
				states[i] = ov > zw / 2 ? 1 : 2;
				if (states[i] === 1) anyParent = true;
			} else {
				states[i] = ov > f.fw / 2 ? 0 : 2;
			}
		}
		if (!anyParent) {              // the root: zooming to it is a reset
			unzoom();
			return;
		}

		for (i = 0; i < frames.length; i++) {
			f = frames[i];
			setState(f, states[i]);
			if (states[i] === 1) place(f, cfg.xpad, full);
			else if (states[i] === 0) place(f, cfg.xpad + (f.fx - zx) * ratio, f.fw * ratio);
		}
		zoomed = target;
		unzoomBtn.classList.remove("hide");
		updateURL({ x: target.rect.getAttribute("fg:x"), y: target.rect.getAttribute("y") });
		runSearch();
	}

	function unzoom() {
		for (var i = 0; i < frames.length; i++) {
			setState(frames[i], 0);
			restore(frames[i]);
		}
		zoomed = null;
		unzoomBtn.classList.add("hide");
		updateURL({ x: null, y: null });
		runSearch();
	}

	// ---------------------------------------------------------------- search

	function makeRegExp(t) {
		var flags = ignoreCase ? "i" : "";
		try {
			return new RegExp(t, flags);
		} catch (err) {
			// Not a valid regex: search for the literal text instead.
			return new RegExp(t.replace(/[.*+?^${}()|[\]\\\/]/g, "\\$&"), flags);
		}
	}

	function formatPct(part, whole) {
		if (!(whole > 0)) return "0.0";
		if (part >= whole * (1 - 1e-12)) return "100";
		return (100 * part / whole).toFixed(1);
	}

	function runSearch() {
		if (term === null) return;
		var re = makeRegExp(term);
		var view = zoomed || root;
		var lo = view ? view.fx : 0, hi = view ? view.fx + view.fw : num(cfg.total, 0);
		var spans = [];
		var i, f, m, a, b;

		for (i = 0; i < frames.length; i++) {
			f = frames[i];
			m = re.test(f.name);
			if (m !== f.matched) {
				if (m) {
					f.origFill = f.rect.getAttribute("fill");
					f.rect.setAttribute("fill", cfg.searchcolor);
				} else {
					if (f.origFill !== null) f.rect.setAttribute("fill", f.origFill);
					else f.rect.removeAttribute("fill");
					f.origFill = null;
				}
				f.matched = m;
			}
			if (m && f.state !== 2) {
				a = Math.max(f.fx, lo);
				b = Math.min(f.fx + f.fw, hi);
				if (b > a) spans.push([a, b]);
			}
		}

		// Union of the visible matching intervals (a match under a matching parent counts once).
		spans.sort(function (p, q) { return p[0] - q[0]; });
		var covered = 0, curA = 0, curB = -Infinity;
		for (i = 0; i < spans.length; i++) {
			if (spans[i][0] > curB) {
				if (curB > curA) covered += curB - curA;
				curA = spans[i][0];
				curB = spans[i][1];
			} else if (spans[i][1] > curB) {
				curB = spans[i][1];
			}
		}
		if (curB > curA) covered += curB - curA;

		searchBtn.classList.add("show");
		setText(searchBtn, "Reset Search");
		matchedEl.classList.remove("hide");
		setText(matchedEl, "Matched: " + formatPct(covered, hi - lo) + "%");
		if (searchField && searchField.value !== term) searchField.value = term;
		updateURL({ s: term });
	}

	function search(t) {
		term = t;
		runSearch();
	}

	function clearSearch() {
		term = null;
		for (var i = 0; i < frames.length; i++) {
			var f = frames[i];
			if (!f.matched) continue;
			if (f.origFill !== null) f.rect.setAttribute("fill", f.origFill);
			else f.rect.removeAttribute("fill");
			f.origFill = null;
			f.matched = false;
		}
		searchBtn.classList.remove("show");
		setText(searchBtn, "Search");
		matchedEl.classList.add("hide");
		setText(matchedEl, " ");
		if (searchField) searchField.value = "";
		updateURL({ s: null });
	}

	// The visible search field: an HTML input in a foreignObject left of the Search button, added here so the SVG's
	// bytes stay flamegraph.pl's. It searches as you type; Ctrl-F / F3 and the button still prompt.
	var searchField = null;
	function makeSearchField(svgEl) {
		if (!svgEl || !searchBtn || typeof document.createElementNS !== "function") return;
		var w = 170, h = Math.round(cfg.fontsize * 1.7);
		var fo = document.createElementNS("http://www.w3.org/2000/svg", "foreignObject");
		fo.setAttribute("id", "searchfield");
		fo.setAttribute("x", String(num(searchBtn.getAttribute("x"), cfg.width - cfg.xpad - 100) - w - 10));
		fo.setAttribute("y", String(num(searchBtn.getAttribute("y"), cfg.fontsize * 2) - h + 4));
		fo.setAttribute("width", String(w));
		fo.setAttribute("height", String(h));
		var input = document.createElementNS("http://www.w3.org/1999/xhtml", "input");
		if (!input || typeof input.addEventListener !== "function" || !("value" in input)) return;
		input.setAttribute("type", "search");
		input.setAttribute("placeholder", "Search (regexp)");
		input.setAttribute("aria-label", "Search frames (regular expression)");
		input.setAttribute("style", "width:100%;height:100%;box-sizing:border-box;margin:0;font:" +
			Math.max(cfg.fontsize - 1, 8) + "px Verdana,sans-serif");
		input.addEventListener("input", function () {
			if (input.value === "") clearSearch(); else search(input.value);
		}, false);
		fo.appendChild(input);
		svgEl.appendChild(fo);
		searchField = input;
	}

	function promptSearch() {
		var t = window.prompt("Enter a search term (regexp allowed, eg: ^ext4_)" +
			(ignoreCase ? ", ignoring case" : "") +
			"\nPress Ctrl-i to toggle case sensitivity", term === null ? "" : term);
		if (t === null || t === undefined) return;      // cancelled
		if (t === "") clearSearch(); else search(t);
	}

	function toggleIgnoreCase() {
		ignoreCase = !ignoreCase;
		if (ignoreCase) icBtn.classList.add("show"); else icBtn.classList.remove("show");
		runSearch();
	}

	// ---------------------------------------------------------------- URL state

	function getParams() {
		var out = {};
		var parts = window.location.search.replace(/^\?/, "").split("&");
		for (var i = 0; i < parts.length; i++) {
			var eq = parts[i].indexOf("=");
			if (eq <= 0 || eq === parts[i].length - 1) continue;
			try {
				out[decodeURIComponent(parts[i].slice(0, eq))] = decodeURIComponent(parts[i].slice(eq + 1));
			} catch (err) { /* malformed escape: ignore the parameter */ }
		}
		return out;
	}

	function updateURL(changes) {
		var p = getParams(), k, q = [];
		for (k in changes) {
			if (!Object.prototype.hasOwnProperty.call(changes, k)) continue;
			if (changes[k] === null || changes[k] === undefined) delete p[k]; else p[k] = String(changes[k]);
		}
		for (k in p) {
			if (Object.prototype.hasOwnProperty.call(p, k)) q.push(encodeURIComponent(k) + "=" + encodeURIComponent(p[k]));
		}
		var url = window.location.pathname + (q.length ? "?" + q.join("&") : "") + window.location.hash;
		if (url === window.location.pathname + window.location.search + window.location.hash) return;
		try {
			window.history.replaceState(window.history.state, "", url);
		} catch (err) { /* e.g. a sandboxed or opaque-origin document: the state just is not kept */ }
	}

	function findFrame(fgx, y) {
		var x = parseFloat(fgx), yy = parseFloat(y);
		if (!isFinite(x) || !isFinite(yy)) return null;
		for (var i = 0; i < frames.length; i++) {
			if (frames[i].fx === x && Math.abs(frames[i].y - yy) < 1e-6) return frames[i];
		}
		return null;
	}

	// ---------------------------------------------------------------- events

	function idOf(node) {
		for (; node && node.nodeType === 1; node = node.parentNode) {
			if (node.id === "unzoom" || node.id === "search" || node.id === "ignorecase") return node.id;
			if (node === framesEl) return null;
		}
		return null;
	}

	function onClick(e) {
		var f = frameOf(e.target);
		if (f) {
			if (f.el.localName === "a") {
				if (!e.ctrlKey) return;          // plain click: follow the link
				e.preventDefault();
			}
			zoom(f);
			return;
		}
		var id = idOf(e.target);
		if (id === "unzoom") unzoom();
		else if (id === "search") { if (term === null) promptSearch(); else clearSearch(); }
		else if (id === "ignorecase") toggleIgnoreCase();
	}

	function onMouseOver(e) {
		var f = frameOf(e.target);
		if (!f) return;
		var s = cfg.nametype + " " + f.title;
		if (zoomed && f.state === 0) s += ", " + (100 * f.fw / zoomed.fw).toFixed(2) + "% of zoomed frame";
		setText(detailsEl, s);
	}

	function onMouseOut(e) {
		if (frameOf(e.target)) setText(detailsEl, " ");
	}

	function onKeyDown(e) {
		var key = typeof e.key === "string" ? e.key.toLowerCase() : "";
		var mod = e.ctrlKey || e.metaKey;
		if (key === "f3" || e.keyCode === 114 || (mod && !e.altKey && (key === "f" || e.keyCode === 70))) {
			e.preventDefault();
			promptSearch();
		} else if (e.ctrlKey && !e.altKey && (key === "i" || e.keyCode === 73)) {
			e.preventDefault();
			toggleIgnoreCase();
		}
	}

	// ---------------------------------------------------------------- init

	function start(evt) {
		if (started) return;
		framesEl = document.getElementById("frames");
		if (!framesEl) return;
		started = true;
		var svgEl = framesEl.ownerSVGElement;
		var given = (typeof fg_config === "object" && fg_config) ? fg_config : {};
		cfg = {
			nametype: typeof given.nametype === "string" ? given.nametype : "Function:",
			fontsize: num(given.fontsize, 12),
			fontwidth: num(given.fontwidth, 0.59),
			xpad: num(given.xpad, 10),
			width: num(given.width, svgEl ? num(svgEl.getAttribute("width"), 1200) : 1200),
			inverted: !!given.inverted,
			searchcolor: typeof given.searchcolor === "string" ? given.searchcolor : "rgb(230,0,230)",
			total: num(given.total, 0)
		};
		detailsEl = document.getElementById("details");
		unzoomBtn = document.getElementById("unzoom");
		searchBtn = document.getElementById("search");
		icBtn = document.getElementById("ignorecase");
		matchedEl = document.getElementById("matched");

		for (var c = framesEl.firstElementChild; c; c = c.nextElementSibling) {
			var f = makeFrame(c);
			if (!f) continue;
			frames.push(f);
			if (!root || f.fw > root.fw) root = f;
		}

		window.addEventListener("click", onClick, false);
		window.addEventListener("mouseover", onMouseOver, false);
		window.addEventListener("mouseout", onMouseOut, false);
		window.addEventListener("keydown", onKeyDown, false);

		makeSearchField(svgEl);
		var p = getParams();
		if (p.x !== undefined && p.y !== undefined) zoom(findFrame(p.x, p.y));
		if (p.s !== undefined && p.s !== "") search(p.s);

		// A graph taller than the window opens at its root: the bottom of a flame graph (with the details line
		// under it); an icicle graph's root is at the top already.
		if (!cfg.inverted && svgEl && typeof window.scrollTo === "function") {
			var below = svgEl.getBoundingClientRect().bottom - window.innerHeight;
			if (below > 0) window.scrollTo(window.pageXOffset || 0, (window.pageYOffset || 0) + below);
		}
	}

	return start;
})();
