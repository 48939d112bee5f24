// Render every Vega-Lite chart on the page. The spec comes from a JSON data block written
// by the server (json_script), never from inline script, and Vega runs with its AST
// interpreter instead of generated code, so charts work under `script-src 'self'` with no
// 'unsafe-eval'. Numbers follow the page's language via the d3 locale block.
(function () {
  "use strict";
  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  // Phones: Vega neither wraps a title nor a legend, so a long title or a row of legend
  // entries ran past the chart's edge and was cut. Titles and subtitles are broken into lines
  // that fit the container, and legends are laid out in as many columns as fit.
  var measure = document.createElement("canvas").getContext("2d");
  function lines(text, font, width) {
    if (typeof text !== "string" || !text) { return text; }
    measure.font = font;
    var out = [], line = "";
    text.split(" ").forEach(function (word) {
      var tried = line ? line + " " + word : word;
      if (line && measure.measureText(tried).width > width) { out.push(line); line = word; } else { line = tried; }
    });
    if (line) { out.push(line); }
    return out.length > 1 ? out : text;
  }
  function wrapped(text, font, width) {
    if (Array.isArray(text)) {
      return [].concat.apply([], text.map(function (t) { var l = lines(t, font, width); return Array.isArray(l) ? l : [l]; }));
    }
    return lines(text, font, width);
  }
  // Right to left, each line is isolated as right-to-left text (Unicode's RLI … PDI): SVG
  // text is laid out left to right, which sent a closing "." to the wrong end.
  function isolated(text) {
    if (document.documentElement.dir !== "rtl") { return text; }
    if (Array.isArray(text)) { return text.map(isolated); }
    return typeof text === "string" && text ? "\u2067" + text + "\u2069" : text;
  }
  function fitted(spec, width) {
    if (!width) { return spec; }
    var family = (spec.config && spec.config.font) || "sans-serif";
    // Some room to spare: the title starts a few pixels in, and fonts measure a little apart.
    var room = width - 32;
    if (typeof spec.title === "string") { spec.title = { text: spec.title }; }
    if (spec.title && typeof spec.title === "object") {
      spec.title.text = isolated(wrapped(spec.title.text, "bold 14px " + family, room));
      if (spec.title.subtitle) { spec.title.subtitle = isolated(wrapped(spec.title.subtitle, "12px " + family, room)); }
    }
    if (width < 576) {
      spec.config = spec.config || {};
      spec.config.legend = Object.assign({}, spec.config.legend, { columns: 2, labelLimit: Math.max(60, room / 2 - 40) });
    }
    return spec;
  }
  // Vega draws a title or subtitle of several lines as the <tspan>s of one <text>, each
  // line trimmed, so the page's text ran the lines together ("percentile).Outlined"). Each
  // line gets back a space where it is not seen: at its end left to right, at its start
  // right to left (where the lines are anchored at their right end).
  function spaceLines(el) {
    var rtl = document.documentElement.dir === "rtl";
    el.querySelectorAll("svg text").forEach(function (text) {
      var parts = text.querySelectorAll("tspan");
      for (var i = 0; i < parts.length; i++) {
        if (rtl && i > 0) { parts[i].textContent = " " + parts[i].textContent; }
        if (!rtl && i < parts.length - 1) { parts[i].textContent = parts[i].textContent + " "; }
      }
    });
  }
  function render(root) {
    var locale = readJson("d3-locale");
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.rendered) { return; }
      var spec = readJson(el.dataset.chart);
      if (!spec) { return; }
      spec = fitted(spec, el.clientWidth);
      el.dataset.rendered = "1";
      window.vegaEmbed(el, spec, {
        renderer: "svg", actions: false, defaultStyle: false,
        // vega-tooltip would inject a <style> element, which the CSP refuses; its styles
        // are in municipium.css.
        tooltip: { disableDefaultStyle: true },
        ast: true, expr: window.vegaExpressionInterpreter,
        formatLocale: locale || undefined
      }).then(function (result) {
        spaceLines(el);
        el.dataset.ready = "1";
        var svg = el.querySelector("svg");
        if (svg && el.dataset.label) {
          svg.setAttribute("role", "img");
          svg.setAttribute("aria-label", el.dataset.label);
        }
      }).catch(function (error) {
        el.dataset.error = String(error);
        el.textContent = el.dataset.failed || "Chart could not be drawn.";
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { render(document); });
  // Charts that arrive in htmx swaps (filters on the indicator page) are drawn too.
  document.addEventListener("htmx:afterSettle", function (event) { render(event.target); });
})();
