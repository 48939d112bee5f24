// Choropleth maps with Leaflet from the units' own boundaries (GeoJSON served by this
// server). No tile layer: tiles would be requests to another origin. Colours, labels and
// formatted values come from the server in each feature's properties.
(function () {
  "use strict";
  function draw(el) {
    if (el.dataset.rendered) { return; }
    el.dataset.rendered = "1";
    fetch(el.dataset.map, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (collection) {
        var map = L.map(el, { attributionControl: false, zoomSnap: 0.25, keyboard: true });
        var layer = L.geoJSON(collection, {
          style: function (feature) {
            // The unit the reader came from (?unit=) is outlined thick and dark.
            var outlined = feature.properties.highlight;
            return { color: outlined ? "#111111" : "#37474f", weight: outlined ? 4 : 1, fillOpacity: 0.85,
                     fillColor: feature.properties.color || "#eceff1", className: outlined ? "map-highlight" : "" };
          },
          onEachFeature: function (feature, shape) {
            var p = feature.properties;
            // A text node, never HTML: a unit's name is data, not markup.
            const tip = document.createElement("span");
            tip.textContent = p.label + (p.value_text ? ": " + p.value_text : "");
            shape.bindTooltip(tip, { sticky: true });
            if (p.url) { shape.on("click", function () { window.location.href = p.url; }); }
          }
        }).addTo(map);
        layer.eachLayer(function (shape) { if (shape.feature.properties.highlight) { shape.bringToFront(); } });
        if (layer.getLayers().length) { map.fitBounds(layer.getBounds(), { padding: [8, 8] }); }
        else { map.setView([45, 20], 4); }
        el.dataset.ready = String(layer.getLayers().length);
      })
      .catch(function (error) { el.dataset.error = String(error); });
  }
  function render(root) { (root || document).querySelectorAll("[data-map]").forEach(draw); }
  document.addEventListener("DOMContentLoaded", function () { render(document); });
  document.addEventListener("htmx:afterSettle", function (event) { render(event.target); });
})();
