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
  function render(root) {
    var locale = readJson("d3-locale");
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.rendered) { return; }
      var spec = readJson(el.dataset.chart);
      if (!spec) { return; }
      el.dataset.rendered = "1";
      window.vegaEmbed(el, spec, {
        renderer: "svg", actions: false, defaultStyle: false,
        // vega-tooltip would inject a <style> element, which the CSP refuses; its styles
        // are in municipium.css.
        tooltip: { disableDefaultStyle: true },
        ast: true, expr: window.vegaExpressionInterpreter,
        formatLocale: locale || undefined
      }).then(function (result) {
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
