/* Check your own run (docs/training/check-your-run.md): plain JavaScript, no
 * library, nothing loaded and nothing sent. What the reader pastes or loads is
 * read in this page (FileReader for a file) and never leaves it.
 *
 * docs/overrides/main.html loads this file only on the page whose front matter
 * sets `check_your_run: true`; even there it does nothing without an element
 * marked data-run-check. Every number is computed as the page's Python snippets
 * compute it (snippets/training/check-your-run/), and printed as Python prints
 * it (`f"{x:#.4g}"`, `f"{p:.1f}"`); tests/test_check_your_run.py compares the
 * two on the built-in sample and on TensorBoard and W&B exports of it.
 *
 *   percentiles:   linear interpolation between ranks, numpy.percentile's default
 *   clipped:       a step whose norm is above max_norm
 *   skip rule:     OLMo-core's SkipStepOptimizer, on the norm alone: the norm is
 *                  more than 6 unbiased standard deviations above the mean of the
 *                  previous 128 norms; no flag while fewer than 64 values are held
 *   ZClip:         the ZClip class of docs/training/loss-spikes.md (alpha 0.97,
 *                  z_thresh 2.5, 25 warm-up steps), its adaptive clip only
 */
(function () {
  "use strict";

  var WINDOW = 128; // the skip rule's rolling_interval_length
  var SIGMA = 6.0; // the skip rule's sigma_factor
  var ALPHA = 0.97; // ZClip's EMA weight
  var Z_THRESH = 2.5; // ZClip's z-score threshold
  var WARMUP = 25; // ZClip's warm-up steps
  var ROWS_SHOWN = 25; // rows of a table of flagged steps
  var SVG = "http://www.w3.org/2000/svg";

  /* --- The sample: the formula of sample_norms() in the page's snippets. Only
     +, -, *, / and integer arithmetic below 2^53, so JavaScript and Python get
     the same doubles, bit for bit. ------------------------------------------- */

  function sampleNorms(steps) {
    steps = steps || 800;
    var state = 1;
    var norms = [];
    for (var t = 0; t < steps; t++) {
      var noise = 0.0;
      for (var i = 0; i < 3; i++) {
        state = (state * 48271) % 2147483647;
        noise += state / 2147483647;
      }
      var d = 1 + t / 10;
      var trend = 0.6 + (0.2 * t) / steps + 3.0 / (d * d);
      norms.push(trend * (1 + 0.2 * (noise - 1.5)));
    }
    norms[300] = 3.5;
    norms[450] = 0.95;
    norms[600] = 1.6;
    norms[601] = 1.2;
    return norms;
  }

  function sampleText() {
    var norms = sampleNorms();
    var lines = ["step,grad_norm"];
    // String(x) is the shortest text that reads back as x, as Python's repr.
    for (var t = 0; t < norms.length; t++) lines.push(t + "," + String(norms[t]));
    return lines.join("\n") + "\n";
  }

  /* --- Python's number formatting -------------------------------------------- */

  /* The exact decimal digits of x (31 significant), its sign and exponent. */
  function exactDigits(x) {
    var m = /^(-?)(\d)\.(\d+)e([+-]\d+)$/.exec(x.toExponential(30));
    return { sign: m[1], digits: m[2] + m[3], exp: Number(m[4]) };
  }

  /* Round to `keep` significant digits as Python does: to nearest, ties to even
     (JavaScript's toExponential breaks an exact tie away from zero). Returns the
     sign, the kept digits and the exponent of the first one. */
  function roundSignificant(x, keep) {
    var m = /^(-?)(\d)\.?(\d*)e([+-]\d+)$/.exec(Math.abs(x).toExponential(keep - 1));
    var rounded = { sign: x < 0 ? "-" : "", digits: m[2] + m[3], exp: Number(m[4]) };
    var exact = exactDigits(Math.abs(x));
    var rest = exact.digits.slice(keep);
    if (rest.charAt(0) === "5" && /^0*$/.test(rest.slice(1))) {
      var last = Number(exact.digits.charAt(keep - 1));
      if (last % 2 === 0) {
        rounded.digits = exact.digits.slice(0, keep);
        rounded.exp = exact.exp;
      }
    }
    return rounded;
  }

  /* Python's format(x, "#.4g"): 4 significant digits, trailing zeros kept. */
  function g4(x) {
    if (isNaN(x)) return "nan";
    if (!isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return (1 / x < 0 ? "-" : "") + "0.000";
    var r = roundSignificant(x, 4);
    var d = r.digits;
    if (r.exp < -4 || r.exp >= 4) {
      var e = Math.abs(r.exp);
      return r.sign + d.charAt(0) + "." + d.slice(1) + "e" + (r.exp < 0 ? "-" : "+") + (e < 10 ? "0" : "") + e;
    }
    if (r.exp >= 0) return r.sign + d.slice(0, r.exp + 1) + "." + d.slice(r.exp + 1);
    return r.sign + "0." + new Array(-r.exp).join("0") + d;
  }

  /* Python's format(p, ".1f") for a percentage, 0 <= p <= 100. */
  function percent(k, n) {
    var p = (100 * k) / n;
    var text = p.toFixed(1);
    var exact = p.toFixed(30);
    var dot = exact.indexOf(".");
    var rest = exact.slice(dot + 2);
    if (rest.charAt(0) === "5" && /^0*$/.test(rest.slice(1))) {
      var truncated = exact.slice(0, dot + 2);
      if (Number(truncated.charAt(truncated.length - 1)) % 2 === 0) text = truncated;
    }
    return text;
  }

  /* --- Reading what was pasted ------------------------------------------------ */

  var NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

  /* A number as Python's float() reads it (nan, inf included), or null. */
  function parseNumber(text) {
    var s = text.trim();
    if (NUMBER.test(s)) return Number(s);
    var low = s.toLowerCase();
    if (/^[+-]?nan$/.test(low)) return NaN;
    if (/^\+?inf(inity)?$/.test(low)) return Infinity;
    if (/^-inf(inity)?$/.test(low)) return -Infinity;
    return null;
  }

  /* One line of CSV or TSV, with double quotes around a field allowed. */
  function splitLine(line, delimiter) {
    if (delimiter === null) return line.trim().split(/\s+/);
    var fields = [];
    var field = "";
    var quoted = false;
    for (var i = 0; i < line.length; i++) {
      var ch = line.charAt(i);
      if (quoted) {
        if (ch === '"' && line.charAt(i + 1) === '"') {
          field += '"';
          i++;
        } else if (ch === '"') {
          quoted = false;
        } else {
          field += ch;
        }
      } else if (ch === '"' && field.trim() === "") {
        quoted = true;
        field = "";
      } else if (ch === delimiter) {
        fields.push(field.trim());
        field = "";
      } else {
        field += ch;
      }
    }
    fields.push(field.trim());
    return fields;
  }

  var GRAD_NORM = /grad(ient)?[\s_\-./]*norm/i;
  var STEP = /^(step|_step|global_step|[\w\-./ ]*\/global_step|iteration|iter)$/i;

  /* The table in the text: its column names (or null) and rows of fields. */
  function readTable(text) {
    var trimmed = text.trim();
    if (trimmed.charAt(0) === "[" && trimmed.charAt(trimmed.length - 1) === "]") {
      // A Python list: [0.5, 0.61, ...]
      var items = trimmed.slice(1, -1).split(/[\s,]+/).filter(Boolean);
      return { names: null, rows: items.map(function (v) { return [v]; }) };
    }
    var lines = text.split(/\r\n|\r|\n/).filter(function (l) { return l.trim() !== ""; });
    if (!lines.length) return { names: null, rows: [] };
    var first = lines[0];
    var delimiter = null;
    ["\t", ",", ";"].forEach(function (d) {
      if (delimiter === null && first.indexOf(d) >= 0) delimiter = d;
    });
    var rows = lines.map(function (line) { return splitLine(line, delimiter); });
    var header = rows[0].some(function (f) { return f !== "" && parseNumber(f) === null; });
    if (!header && rows.length === 1 && rows[0].length > 1) {
      // One line of numbers: a list, not a table of one row.
      return { names: null, rows: rows[0].map(function (v) { return [v]; }) };
    }
    return { names: header ? rows[0] : null, rows: header ? rows.slice(1) : rows };
  }

  /* The numeric columns of a table, and which one to read by default: the first
     whose name looks like a gradient norm (not W&B's __MIN / __MAX), else the
     last numeric one. */
  function columnsOf(table) {
    var width = 0;
    table.rows.forEach(function (r) { width = Math.max(width, r.length); });
    if (table.names) width = Math.max(width, table.names.length);
    var columns = [];
    for (var c = 0; c < width; c++) {
      var name = table.names ? table.names[c] || "" : "";
      var numbers = 0;
      var text = 0;
      for (var i = 0; i < table.rows.length; i++) {
        var field = table.rows[i][c];
        if (field === undefined || field === "") continue;
        if (parseNumber(field) === null) text++;
        else numbers++;
      }
      // A stray line of text (a note, a repeated header) does not disqualify a column.
      if (numbers > text) {
        columns.push({ index: c, name: name || "column " + (c + 1), named: Boolean(name) });
      }
    }
    var chosen = null;
    columns.forEach(function (col) {
      if (chosen === null && col.named && GRAD_NORM.test(col.name) && !/__(min|max)$/i.test(col.name)) {
        chosen = col;
      }
    });
    var steps = null;
    columns.forEach(function (col) {
      if (steps === null && col.named && STEP.test(col.name.trim())) steps = col;
    });
    if (chosen === null) {
      for (var k = columns.length - 1; k >= 0; k--) {
        if (columns[k] !== steps && !/^wall[\s_]?time$/i.test(columns[k].name)) {
          chosen = columns[k];
          break;
        }
      }
    }
    if (chosen === null && columns.length) chosen = columns[columns.length - 1];
    return { columns: columns, chosen: chosen, steps: steps };
  }

  /* The values of one column, in order, with their steps. Rows where the column
     is empty (W&B leaves a metric's cell empty at steps it was not logged) are
     left out; so are non-finite values, which are listed apart. */
  function valuesOf(table, column, stepColumn) {
    var values = [];
    var steps = [];
    var nonFinite = [];
    var skipped = 0;
    var row = 0;
    for (var i = 0; i < table.rows.length; i++) {
      var field = table.rows[i][column.index];
      if (field === undefined || field === "") continue;
      var value = parseNumber(field);
      if (value === null) {
        skipped++;
        continue;
      }
      var step = row;
      if (stepColumn) {
        var s = parseNumber(table.rows[i][stepColumn.index] || "");
        step = s === null || !isFinite(s) ? row : s;
      }
      row++;
      if (isFinite(value)) {
        values.push(value);
        steps.push(step);
      } else {
        nonFinite.push({ step: step, text: field.trim() });
      }
    }
    return { values: values, steps: steps, nonFinite: nonFinite, skipped: skipped };
  }

  /* --- The statistics, as the Python snippets compute them -------------------- */

  /* numpy.percentile(values, p), method "linear": the virtual index
     (n - 1) * p / 100 between two ranks, and numpy's _lerp. */
  function percentile(sorted, p) {
    var n = sorted.length;
    var index = (n - 1) * (p / 100);
    var below = Math.floor(index);
    var above = Math.min(below + 1, n - 1);
    var t = index - below;
    var a = sorted[below];
    var b = sorted[above];
    var diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
  }

  function countAbove(values, threshold) {
    var k = 0;
    for (var i = 0; i < values.length; i++) if (values[i] > threshold) k++;
    return k;
  }

  /* OLMo-core's skip rule on the norm alone (skip_rule in the snippets). */
  function skipRule(norms) {
    var flagged = [];
    var least = Math.max(2, Math.floor(WINDOW / 2));
    for (var t = 0; t < norms.length; t++) {
      var start = Math.max(0, t - WINDOW);
      var count = t - start;
      if (count + 1 < least) continue;
      var sum = 0;
      for (var i = start; i < t; i++) sum += norms[i];
      var mean = sum / count;
      var squares = 0;
      for (var j = start; j < t; j++) squares += (norms[j] - mean) * (norms[j] - mean);
      var std = Math.sqrt(squares / (count - 1));
      if (!(norms[t] - mean <= SIGMA * std)) {
        flagged.push({ index: t, norm: norms[t], mean: mean, std: std, z: (norms[t] - mean) / std });
      }
    }
    return flagged;
  }

  /* ZClip's adaptive clip (zclip in the snippets; the ZClip class of the
     loss-spikes page with its defaults). */
  function zclip(norms) {
    var clipped = [];
    var mean = null;
    var variance = null;
    for (var t = 0; t < norms.length; t++) {
      var norm = norms[t];
      if (mean === null) {
        if (t + 1 === WARMUP) {
          var sum = 0;
          for (var i = 0; i < WARMUP; i++) sum += norms[i];
          var m = sum / WARMUP;
          var squares = 0;
          for (var j = 0; j < WARMUP; j++) squares += (norms[j] - m) * (norms[j] - m);
          variance = squares / WARMUP;
          mean = m;
        }
        continue;
      }
      var std = Math.sqrt(variance);
      var z = (norm - mean) / (std + 1e-6);
      var seen = norm;
      if (z > Z_THRESH) {
        seen = mean + (Z_THRESH * std) / (z / Z_THRESH);
        clipped.push({ index: t, norm: norm, to: seen, z: z });
      }
      mean = ALPHA * mean + (1 - ALPHA) * seen;
      variance = ALPHA * variance + (1 - ALPHA) * (seen - mean) * (seen - mean);
    }
    return clipped;
  }

  /* --- Drawing ------------------------------------------------------------------ */

  function el(name, attributes, text) {
    var node = document.createElementNS(SVG, name);
    for (var key in attributes) node.setAttribute(key, attributes[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function html(name, attributes, text) {
    var node = document.createElement(name);
    for (var key in attributes || {}) node.setAttribute(key, attributes[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function tickLabel(v) {
    if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(0);
    return String(Number(v.toPrecision(3)));
  }

  function niceStep(span, count) {
    var raw = span / Math.max(1, count);
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= raw) return steps[i] * power;
    return 10 * power;
  }

  function logTicks(lo, hi) {
    var ticks = [];
    var sets = [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]];
    for (var s = 0; s < sets.length && ticks.length < 3; s++) {
      ticks = [];
      for (var k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
        sets[s].forEach(function (m) {
          var v = m * Math.pow(10, k);
          v = Number(v.toPrecision(12));
          if (v >= lo && v <= hi) ticks.push(v);
        });
      }
    }
    return ticks;
  }

  function drawPlot(figure, data) {
    var svg = figure.querySelector("svg");
    var width = Math.max(260, Math.round(figure.clientWidth || 600));
    var height = Math.round(Math.min(300, Math.max(200, width * 0.45)));
    var left = 46, right = 10, top = 10, bottom = 36;
    var w = width - left - right, h = height - top - bottom;
    var values = data.values;
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) { lo = Math.min(lo, v); hi = Math.max(hi, v); });
    [data.maxNorm, data.p90].forEach(function (v) {
      if (isFinite(v) && v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    });
    var log = lo > 0;
    var y;
    if (log) {
      var a = Math.log10(lo), b = Math.log10(hi);
      if (b - a < 0.2) { a -= 0.1; b += 0.1; }
      var pad = (b - a) * 0.05;
      a -= pad; b += pad;
      y = function (v) { return top + h - ((Math.log10(v) - a) / (b - a)) * h; };
      lo = Math.pow(10, a); hi = Math.pow(10, b);
    } else {
      if (hi === lo) { hi += 1; lo -= 1; }
      var padding = (hi - lo) * 0.05;
      lo -= padding; hi += padding;
      y = function (v) { return top + h - ((v - lo) / (hi - lo)) * h; };
    }
    var xs = data.plotX;
    var x0 = xs[0], x1 = xs[xs.length - 1];
    if (x1 === x0) x1 = x0 + 1;
    var x = function (v) { return left + ((v - x0) / (x1 - x0)) * w; };

    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("width", String(width));
    svg.setAttribute("height", String(height));
    var keep = [svg.querySelector("title"), svg.querySelector("desc")];
    while (svg.lastChild) svg.removeChild(svg.lastChild);
    keep.forEach(function (node) { svg.appendChild(node); });

    var grid = "";
    var yticks = log ? logTicks(lo, hi) : [];
    if (!log) {
      var ystep = niceStep(hi - lo, 4);
      for (var v = Math.ceil(lo / ystep) * ystep; v <= hi; v += ystep) yticks.push(Number(v.toPrecision(12)));
    }
    var labels = el("g", { class: "run-check__ticks" });
    yticks.forEach(function (v) {
      var py = y(v).toFixed(1);
      grid += "M" + left + " " + py + "H" + (left + w);
      labels.appendChild(el("text", { x: left - 5, y: py, dy: "0.32em", "text-anchor": "end" }, tickLabel(v)));
    });
    var xstep = niceStep(x1 - x0, Math.max(2, Math.floor(w / 90)));
    for (var sx = Math.ceil(x0 / xstep) * xstep; sx <= x1; sx += xstep) {
      var px = x(sx).toFixed(1);
      grid += "M" + px + " " + top + "V" + (top + h);
      labels.appendChild(el("text", { x: px, y: top + h + 14, "text-anchor": "middle" }, tickLabel(sx)));
    }
    labels.appendChild(el("text", { x: left + w, y: height - 4, "text-anchor": "end" }, "step"));
    svg.appendChild(el("path", { class: "run-check__grid", d: grid }));
    svg.appendChild(el("rect", { class: "run-check__frame", x: left, y: top, width: w, height: h }));
    svg.appendChild(labels);

    // The norms: every point, or the lowest and highest of each pixel column.
    var d = "";
    if (values.length <= 2 * w) {
      for (var i = 0; i < values.length; i++) {
        d += (i ? "L" : "M") + x(xs[i]).toFixed(1) + " " + y(values[i]).toFixed(1);
      }
    } else {
      var column = -1, low = 0, high = 0;
      var flush = function () {
        if (column < 0) return;
        var cx = (left + column + 0.5).toFixed(1);
        d += (d ? "L" : "M") + cx + " " + y(high).toFixed(1) + "L" + cx + " " + y(low).toFixed(1);
      };
      for (var k = 0; k < values.length; k++) {
        var c = Math.min(w - 1, Math.floor(x(xs[k]) - left));
        if (c !== column) {
          flush();
          column = c; low = high = values[k];
        } else {
          low = Math.min(low, values[k]); high = Math.max(high, values[k]);
        }
      }
      flush();
    }
    svg.appendChild(el("path", { class: "run-check__line", d: d }));

    if (isFinite(data.p90)) {
      svg.appendChild(el("path", { class: "run-check__p90", d: "M" + left + " " + y(data.p90).toFixed(1) + "h" + w }));
    }
    if (isFinite(data.maxNorm) && data.maxNorm > 0) {
      svg.appendChild(el("path", { class: "run-check__max-norm", d: "M" + left + " " + y(data.maxNorm).toFixed(1) + "h" + w }));
    }
    var marks = el("g", { class: "run-check__zclip-marks" });
    data.zclip.forEach(function (f) {
      marks.appendChild(el("circle", { cx: x(xs[f.index]).toFixed(1), cy: y(values[f.index]).toFixed(1), r: 2.6 }));
    });
    svg.appendChild(marks);
    var rings = el("g", { class: "run-check__skip-marks" });
    data.skip.forEach(function (f) {
      rings.appendChild(el("circle", { cx: x(xs[f.index]).toFixed(1), cy: y(values[f.index]).toFixed(1), r: 6 }));
    });
    svg.appendChild(rings);
    svg.setAttribute("data-scale", log ? "log" : "linear");
  }

  /* --- The page ------------------------------------------------------------------ */

  function ranges(labels) {
    var parts = [];
    for (var i = 0; i < labels.length; i++) {
      var j = i;
      while (j + 1 < labels.length && labels[j + 1] === labels[j] + 1) j++;
      parts.push(j > i ? labels[i] + "\u2013" + labels[j] : String(labels[i]));
      i = j;
    }
    return parts.join(", ");
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  function makeTable(caption, heads, rows, name) {
    var node = html("table", { class: "run-check__table", "data-table": name });
    node.appendChild(html("caption", {}, caption));
    var head = html("thead");
    var tr = html("tr");
    heads.forEach(function (h) { tr.appendChild(html("th", { scope: "col" }, h)); });
    head.appendChild(tr);
    node.appendChild(head);
    var body = html("tbody");
    rows.forEach(function (cells) {
      var row = html("tr");
      cells.forEach(function (cell, i) {
        row.appendChild(html(i ? "td" : "th", i ? {} : { scope: "row" }, cell));
      });
      body.appendChild(row);
    });
    node.appendChild(body);
    return node;
  }

  function setup(root) {
    var form = root.querySelector('[data-role="form"]');
    var text = root.querySelector('[data-input="text"]');
    var file = root.querySelector('[data-input="file"]');
    var maxNormInput = root.querySelector('[data-input="max-norm"]');
    var columnField = root.querySelector('[data-role="column-field"]');
    var columnSelect = root.querySelector('[data-input="column"]');
    var status = root.querySelector('[data-out="status"]');
    var results = root.querySelector('[data-role="results"]');
    var source = "";
    var sourceName = null;
    var table = null;
    var last = null;
    var timer = null;

    form.addEventListener("submit", function (event) { event.preventDefault(); });

    function out(name) {
      return root.querySelector('[data-out="' + name + '"]');
    }

    function set(name, value) {
      var node = out(name);
      if (node) node.textContent = value;
    }

    function read(newText, name) {
      source = newText;
      sourceName = name;
      table = readTable(source);
      var found = columnsOf(table);
      while (columnSelect.firstChild) columnSelect.removeChild(columnSelect.firstChild);
      // The step column is not offered: it numbers the steps.
      var offered = found.columns.filter(function (col) { return col !== found.steps || col === found.chosen; });
      offered.forEach(function (col) {
        var option = html("option", { value: String(col.index) }, col.name);
        if (col === found.chosen) option.selected = true;
        columnSelect.appendChild(option);
      });
      columnField.hidden = offered.length < 2;
      table.found = found;
      update();
    }

    function update() {
      if (!table) return;
      var found = table.found;
      if (!found.chosen) {
        results.hidden = true;
        last = null;
        announce(source.trim() ? "No column of numbers found: paste one number a line, or a CSV or TSV with a header." : "");
        return;
      }
      var index = Number(columnSelect.value);
      var column = found.columns.filter(function (c) { return c.index === index; })[0] || found.chosen;
      var stepColumn = found.steps && found.steps !== column ? found.steps : null;
      var data = valuesOf(table, column, stepColumn);
      var values = data.values;
      if (!values.length) {
        results.hidden = true;
        last = null;
        announce("The column " + column.name + " holds no finite number.");
        return;
      }
      var sorted = values.slice().sort(function (a, b) { return a - b; });
      var p = {};
      [10, 50, 90, 99].forEach(function (q) { p[q] = percentile(sorted, q); });
      var max = sorted[sorted.length - 1];
      var maxNorm = parseNumber(maxNormInput.value);
      var validMaxNorm = maxNorm !== null && isFinite(maxNorm) && maxNorm > 0;
      var skip = skipRule(values);
      var clipped = zclip(values);
      var n = values.length;
      var label = function (i) { return data.steps[i]; };
      var increasing = data.steps.every(function (s, i) { return i === 0 || s > data.steps[i - 1]; });

      // What was read.
      var where = column.named
        ? "the column \u201c" + column.name + "\u201d"
        : found.columns.length === 1 ? "the column of numbers" : column.name;
      var readText = "Read " + plural(n, "value", "values") + " from " + where + (sourceName ? " of " + sourceName : "") +
        (stepColumn ? ", steps from the column \u201c" + stepColumn.name + "\u201d" : ", numbered from step 0") +
        " (steps " + label(0) + " to " + label(n - 1) + ").";
      if (data.skipped) {
        readText += " " + plural(data.skipped, "line", "lines") + " without a number in this column " +
          (data.skipped === 1 ? "was" : "were") + " skipped.";
      }
      if (data.nonFinite.length) {
        readText += " " + plural(data.nonFinite.length, "non-finite value", "non-finite values") + " (" +
          data.nonFinite.slice(0, 10).map(function (f) { return f.text + " at step " + f.step; }).join(", ") +
          (data.nonFinite.length > 10 ? ", \u2026" : "") +
          ") " + (data.nonFinite.length === 1 ? "is" : "are") + " left out of every number below, as if a non-finite guard had skipped " +
          (data.nonFinite.length === 1 ? "that step" : "those steps") + ".";
      }
      set("read", readText);
      set("count", String(n));
      set("p10", g4(p[10]));
      set("p50", g4(p[50]));
      set("p90", g4(p[90]));
      set("p99", g4(p[99]));
      set("max", g4(max));

      // Clipping at max_norm, and at the 90th percentile.
      var clipNode = out("clip");
      while (clipNode.firstChild) clipNode.removeChild(clipNode.firstChild);
      var clipCount = 0;
      if (validMaxNorm) {
        clipCount = countAbove(values, maxNorm);
        clipNode.appendChild(document.createTextNode("A max_norm of " + maxNormInput.value.trim() + " clips "));
        clipNode.appendChild(html("span", { "data-out": "clip-count" }, String(clipCount)));
        clipNode.appendChild(document.createTextNode(" of " + n + " steps ("));
        clipNode.appendChild(html("span", { "data-out": "clip-percent" }, percent(clipCount, n)));
        clipNode.appendChild(document.createTextNode(" %)."));
        if (2 * clipCount > n) {
          clipNode.appendChild(document.createTextNode(
            " More than half of the steps: the Tuning Playbook calls that extremely aggressive, in effect a smaller learning rate."
          ));
        }
      } else {
        clipNode.textContent = "Enter a max_norm above 0 to see how many steps it clips.";
      }
      var p90Count = countAbove(values, p[90]);
      set("p90-value", g4(p[90]));
      set("p90-count", String(p90Count));
      set("p90-percent", percent(p90Count, n));
      set("p90-n", String(n));

      // The skip rule.
      var skipNode = out("skip");
      while (skipNode.firstChild) skipNode.removeChild(skipNode.firstChild);
      var least = Math.max(2, Math.floor(WINDOW / 2));
      var skipText;
      if (n < least) {
        skipText = "The skip rule flags nothing: it waits for " + least + " values, and there are " + n + ".";
      } else {
        skipText = "OLMo-core\u2019s skip rule, on the norm alone, flags " + (skip.length ? skip.length + " of " + n + " steps" : "none of the " + n + " steps") +
          (skip.length ? ": " + ranges(skip.map(function (f) { return label(f.index); })) + "." : ".");
      }
      skipNode.appendChild(html("p", { "data-out": "skip-summary" }, skipText));
      if (skip.length) {
        skipNode.appendChild(makeTable(
          (skip.length > ROWS_SHOWN ? "The first " + ROWS_SHOWN + " of " + skip.length + " flagged steps" : "The flagged steps") +
          ": mean and standard deviation of the previous norms (up to 128), and how many standard deviations above the mean",
          ["Step", "Norm", "Mean", "Std", "z"],
          skip.slice(0, ROWS_SHOWN).map(function (f) { return [String(label(f.index)), g4(f.norm), g4(f.mean), g4(f.std), g4(f.z)]; }),
          "skip"
        ));
      }

      // ZClip.
      var zNode = out("zclip");
      while (zNode.firstChild) zNode.removeChild(zNode.firstChild);
      var zText;
      if (n <= WARMUP) {
        zText = "ZClip clips nothing adaptively: its " + WARMUP + " warm-up steps take all " + n + " values.";
      } else {
        zText = "ZClip (alpha 0.97, z_thresh 2.5, 25 warm-up steps) clips " + (clipped.length ? clipped.length + " of " + n + " steps as outliers" : "none of the " + n + " steps as an outlier") +
          (clipped.length ? ": " + ranges(clipped.map(function (f) { return label(f.index); })) + "." : ".");
      }
      zNode.appendChild(html("p", { "data-out": "zclip-summary" }, zText));
      if (clipped.length) {
        zNode.appendChild(makeTable(
          (clipped.length > ROWS_SHOWN ? "The first " + ROWS_SHOWN + " of " + clipped.length + " outliers" : "The outliers") +
          ": the norm, the threshold ZClip clips it to, and its z-score",
          ["Step", "Norm", "Clipped to", "z"],
          clipped.slice(0, ROWS_SHOWN).map(function (f) { return [String(label(f.index)), g4(f.norm), g4(f.to), g4(f.z)]; }),
          "zclip"
        ));
      }
      var capText = "";
      if (validMaxNorm) {
        var union = 0;
        var outlier = {};
        clipped.forEach(function (f) { outlier[f.index] = true; });
        for (var i = 0; i < n; i++) if (outlier[i] || values[i] > maxNorm) union++;
        capText = "With its cap at your max_norm (" + maxNormInput.value.trim() + "), ZClip clips " + union + " of " + n + " steps in all (" + percent(union, n) + " %).";
      }
      zNode.appendChild(html("p", { "data-out": "zclip-cap" }, capText));

      // The plot.
      var figure = root.querySelector('[data-role="plot"]');
      var plotData = {
        values: values,
        plotX: increasing ? data.steps : values.map(function (_, i) { return i; }),
        maxNorm: validMaxNorm ? maxNorm : NaN,
        p90: p[90],
        skip: skip,
        zclip: clipped,
      };
      results.hidden = false;
      last = plotData;
      var desc = figure.querySelector("desc");
      desc.textContent = "The gradient norm at each of " + n + " steps, on a " + (lo0(values) > 0 ? "logarithmic" : "linear") +
        " scale, from " + g4(sorted[0]) + " to " + g4(max) + "." +
        (validMaxNorm ? " A dashed line marks max_norm " + maxNormInput.value.trim() + "." : "") +
        " A dotted line marks the 90th percentile, " + g4(p[90]) + ". " +
        "Rings mark the " + plural(skip.length, "step", "steps") + " the skip rule flags, dots the " +
        plural(clipped.length, "step", "steps") + " ZClip clips as outliers.";
      drawPlot(figure, plotData);

      announce(plural(n, "norm", "norms") + ": " + (validMaxNorm ? "max_norm " + maxNormInput.value.trim() + " clips " + percent(clipCount, n) + " % of steps; " : "") +
        "90th percentile " + g4(p[90]) + "; the skip rule flags " + skip.length + ", ZClip clips " + clipped.length + ".");
    }

    function lo0(values) {
      var lo = Infinity;
      values.forEach(function (v) { lo = Math.min(lo, v); });
      return lo;
    }

    var announced = "";
    function announce(message) {
      if (message === announced) return;
      announced = message;
      status.textContent = message;
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(function () { read(text.value, null); }, 250);
    }

    text.addEventListener("input", later);
    maxNormInput.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, 150);
    });
    columnSelect.addEventListener("change", update);
    root.querySelector('[data-action="sample"]').addEventListener("click", function () {
      clearTimeout(timer);
      text.value = sampleText();
      file.value = "";
      read(text.value, null);
    });
    root.querySelector('[data-action="use-p90"]').addEventListener("click", function () {
      var shown = out("p90-value").textContent;
      if (!shown) return;
      maxNormInput.value = String(Number(shown));
      clearTimeout(timer);
      update();
      maxNormInput.focus();
    });
    file.addEventListener("change", function () {
      var chosen = file.files && file.files[0];
      if (!chosen) return;
      var reader = new FileReader();
      reader.onload = function () {
        clearTimeout(timer);
        var content = String(reader.result);
        // A large file is read, not shown: a textarea of megabytes is slow to edit.
        text.value = content.length <= 1000000 ? content : "";
        read(content, chosen.name);
      };
      reader.onerror = function () {
        announce("Could not read " + chosen.name + ".");
      };
      reader.readAsText(chosen);
    });

    if (typeof ResizeObserver === "function") {
      var figure = root.querySelector('[data-role="plot"]');
      var width = 0;
      new ResizeObserver(function () {
        if (last && figure.clientWidth !== width) {
          width = figure.clientWidth;
          drawPlot(figure, last);
        }
      }).observe(figure);
    }
    root.setAttribute("data-ready", "");
  }

  var roots = document.querySelectorAll("[data-run-check]");
  for (var i = 0; i < roots.length; i++) setup(roots[i]);
})();
