/* The clipping explorer (docs/guide/explorer.md): plain JavaScript, no library.
 *
 * docs/overrides/main.html loads this file only on the page whose front matter
 * sets `explorer: true`; even there it does nothing without an element marked
 * data-clip-explorer. The page's HTML already shows one worked
 * example (so it reads without JavaScript); this script makes it interactive.
 *
 *   norm clipping:  g * min(1, c / (||g|| + 1e-6))   (torch.nn.utils.clip_grad_norm_)
 *   value clipping: each component clamped to [-c, c] (torch.nn.utils.clip_grad_value_)
 */
(function () {
  "use strict";

  var EPS = 1e-6; // PyTorch's guard in clip_grad_norm_
  var LIMIT = 5; // the plane shows components in [-LIMIT, LIMIT]

  function length(v) {
    return Math.hypot(v[0], v[1]);
  }

  function normClip(g, c) {
    var k = Math.min(1, c / (length(g) + EPS));
    return [g[0] * k, g[1] * k];
  }

  function valueClip(g, c) {
    return [Math.min(c, Math.max(-c, g[0])), Math.min(c, Math.max(-c, g[1]))];
  }

  /* Angle between two vectors in degrees, NaN when either is zero. atan2 of the
     cross and dot products stays exact for (nearly) parallel vectors. */
  function angle(a, b) {
    if (length(a) === 0 || length(b) === 0) return NaN;
    var cross = a[0] * b[1] - a[1] * b[0];
    var dot = a[0] * b[0] + a[1] * b[1];
    return (Math.atan2(Math.abs(cross), dot) * 180) / Math.PI;
  }

  function clamp(x, low, high) {
    return Math.min(high, Math.max(low, x));
  }

  function tenth(x) {
    return Math.round(x * 10) / 10;
  }

  /* Fixed decimals with a real minus sign, and never "-0.000". */
  function fixed(x, digits) {
    var text = x.toFixed(digits);
    if (Number(text) === 0) text = (0).toFixed(digits);
    return text.replace("-", "\u2212");
  }

  function degrees(x) {
    return isNaN(x) ? "\u2014" : fixed(x, 1) + "\u00b0";
  }

  function setup(root) {
    var plane = root.querySelector('[data-role="plane"]');
    var handle = root.querySelector('[data-role="handle"]');
    var readout = root.querySelector('[data-role="readout"]');
    var controls = root.querySelector('[data-role="controls"]');
    var inputs = {
      gx: root.querySelector('[data-input="gx"]'),
      gy: root.querySelector('[data-input="gy"]'),
      c: root.querySelector('[data-input="c"]'),
    };
    if (!plane || !handle || !readout || !controls || !inputs.gx || !inputs.gy || !inputs.c) return;

    var state = {
      g: [Number(inputs.gx.value) || 0, Number(inputs.gy.value) || 0],
      c: Number(inputs.c.value) || 1,
    };

    function out(name, text) {
      var el = root.querySelector('[data-out="' + name + '"]');
      if (el && el.textContent !== text) el.textContent = text;
    }

    function draw(name, attrs) {
      var el = root.querySelector('[data-draw="' + name + '"]');
      if (!el) return;
      Object.keys(attrs).forEach(function (key) {
        el.setAttribute(key, String(attrs[key]));
      });
    }

    /* SVG y grows downwards; the plane's y grows upwards. */
    function tip(name, v) {
      draw(name, { x2: v[0], y2: -v[1] });
    }

    function render() {
      var g = state.g;
      var c = state.c;
      var byValue = valueClip(g, c);
      var byNorm = normClip(g, c);

      draw("box", { x: -c, y: -c, width: 2 * c, height: 2 * c });
      draw("ball", { r: c });
      tip("original", g);
      tip("value", byValue);
      tip("norm", byNorm);
      handle.setAttribute("transform", "translate(" + g[0] + " " + -g[1] + ")");

      out("c", fixed(c, 1));
      out("c-label", fixed(c, 1));
      out("original-x", fixed(g[0], 3));
      out("original-y", fixed(g[1], 3));
      out("original-norm", fixed(length(g), 3));
      out("original-angle", degrees(angle(g, g)));
      out("value-x", fixed(byValue[0], 3));
      out("value-y", fixed(byValue[1], 3));
      out("value-length", fixed(length(byValue), 3));
      out("value-angle", degrees(angle(g, byValue)));
      out("norm-x", fixed(byNorm[0], 3));
      out("norm-y", fixed(byNorm[1], 3));
      out("norm-length", fixed(length(byNorm), 3));
      out("norm-angle", degrees(angle(g, byNorm)));
    }

    /* Move g from the plane (pointer or arrow keys): keep the inputs in step. */
    function moveTo(x, y) {
      state.g = [clamp(tenth(x), -LIMIT, LIMIT), clamp(tenth(y), -LIMIT, LIMIT)];
      inputs.gx.value = String(state.g[0]);
      inputs.gy.value = String(state.g[1]);
      render();
    }

    /* Typing in a component: use the number as soon as it parses. */
    function typed(index, input) {
      var x = parseFloat(input.value);
      if (!isFinite(x)) return;
      state.g[index] = clamp(x, -LIMIT, LIMIT);
      render();
    }
    inputs.gx.addEventListener("input", function () {
      typed(0, inputs.gx);
    });
    inputs.gy.addEventListener("input", function () {
      typed(1, inputs.gy);
    });
    [inputs.gx, inputs.gy].forEach(function (input, index) {
      input.addEventListener("change", function () {
        input.value = String(state.g[index]);
      });
    });
    inputs.c.addEventListener("input", function () {
      var c = parseFloat(inputs.c.value);
      if (isFinite(c) && c > 0) {
        state.c = c;
        render();
      }
    });

    /* Keyboard on the arrow tip: arrows move by 0.1, with Shift by 1. */
    var KEYS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    handle.addEventListener("keydown", function (event) {
      var step = KEYS[event.key];
      if (!step || event.altKey || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      var size = event.shiftKey ? 1 : 0.1;
      moveTo(state.g[0] + step[0] * size, state.g[1] + step[1] * size);
    });

    /* Pointer: press anywhere on the plane to put the tip there, then drag. */
    var dragging = null;
    function pointAt(event) {
      var matrix = plane.getScreenCTM();
      if (!matrix) return null;
      var point = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
      return [point.x, -point.y];
    }
    function follow(event) {
      var p = pointAt(event);
      if (p) moveTo(p[0], p[1]);
    }
    plane.addEventListener("pointerdown", function (event) {
      if (dragging !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
      event.preventDefault();
      dragging = event.pointerId;
      plane.setPointerCapture(event.pointerId);
      plane.classList.add("is-dragging");
      readout.setAttribute("aria-busy", "true"); // announce the result once, on release
      handle.focus({ preventScroll: true });
      follow(event);
    });
    plane.addEventListener("pointermove", function (event) {
      if (event.pointerId === dragging) follow(event);
    });
    function release(event) {
      if (event.pointerId !== dragging) return;
      dragging = null;
      plane.classList.remove("is-dragging");
      readout.removeAttribute("aria-busy");
    }
    plane.addEventListener("pointerup", release);
    plane.addEventListener("pointercancel", release);
    plane.addEventListener("lostpointercapture", release);

    /* Now that the picture responds, describe it as a control, not an image
       (an image may not contain a focusable part), and show the inputs. */
    plane.setAttribute("role", "group");
    handle.setAttribute("tabindex", "0");
    handle.setAttribute("role", "application");
    handle.setAttribute("aria-roledescription", "draggable point");
    handle.setAttribute(
      "aria-label",
      "Tip of g. Arrow keys move it by 0.1, with Shift by 1; or type the components below."
    );
    controls.hidden = false;
    root.classList.add("is-interactive");
    render();
  }

  function start() {
    var roots = document.querySelectorAll("[data-clip-explorer]");
    for (var i = 0; i < roots.length; i++) setup(roots[i]);
  }

  // Loaded with `defer` (docs/overrides/main.html): the page is parsed when this runs.
  start();
})();
