// Accessibility map of social services: settlements as circles coloured by places per 1,000
// of the target group within reach, service points as squares. Data: the page's own GeoJSON
// (same origin); no tile layer, so no request leaves the server.
(function () {
  "use strict";
  function draw(el) {
    if (el.dataset.rendered) { return; }
    el.dataset.rendered = "1";
    fetch(el.dataset.accessMap, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (collection) {
        var map = L.map(el, { attributionControl: false, zoomSnap: 0.25, keyboard: true });
        var layer = L.geoJSON(collection, {
          // One style per kind: municipal outlines, service points, settlements by colour.
          style: function (feature) {
            var p = feature.properties;
            if (p.kind === "unit") { return { color: "#607d8b", weight: 1, fill: false }; }
            if (p.kind === "service") { return { color: "#1b1b1b", weight: 2, fillColor: "#ffffff", fillOpacity: 1 }; }
            return { color: "#37474f", weight: 1, fillColor: p.color, fillOpacity: 0.85 };
          },
          pointToLayer: function (feature, latlng) {
            var p = feature.properties;
            var radius = p.kind === "service" ? 7 : Math.max(3, Math.min(14, Math.sqrt(p.population || 0) / 8));
            return L.circleMarker(latlng, { radius: radius });
          },
          onEachFeature: function (feature, shape) {
            var p = feature.properties;
            var tip = document.createElement("span");
            tip.textContent = p.value_text ? p.label + ": " + p.value_text : p.label;
            shape.bindTooltip(tip, { sticky: true });
          }
        }).addTo(map);
        if (layer.getLayers().length) { map.fitBounds(layer.getBounds(), { padding: [12, 12] }); }
        else { map.setView([42.2, 24.3], 8); }
        el.dataset.ready = String(layer.getLayers().length);
      })
      .catch(function (error) { el.dataset.error = String(error); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-access-map]").forEach(draw);
  });
})();
