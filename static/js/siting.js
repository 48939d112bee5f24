// The siting run's map: the suitability raster rendered by the server as a PNG image overlay
// (in Web Mercator, so it lies right on Leaflet's map), the excluded zones and the candidate
// sites as GeoJSON vectors from this server. No tile layer (no other origin). Labels come from
// the page (the reader's language); a site's figures are formatted by the server.
(function () {
  "use strict";
  function json(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); });
  }
  function draw(el) {
    var b = JSON.parse(el.dataset.bounds);
    var bounds = L.latLngBounds([b[0], b[1]], [b[2], b[3]]);
    var map = L.map(el, { attributionControl: false, zoomSnap: 0.25, keyboard: true });
    map.fitBounds(bounds);
    var layers = {};
    // One request at a time (the vectors, then the image): the server answers each in turn.
    var found = [];
    json(el.dataset.constraints).then(function (constraints) {
      found.push(constraints);
      return json(el.dataset.candidates);
    }).then(function (candidatesData) {
      found.push(candidatesData);
      var overlay = L.imageOverlay(el.dataset.image, bounds, { opacity: 0.85, alt: el.dataset.labelSuitability }).addTo(map);
      overlay.bringToBack();
      layers[el.dataset.labelSuitability] = overlay;
      var constraints = L.geoJSON(found[0], {
        style: function () { return { color: "#455a64", weight: 1, fillColor: "#607d8b", fillOpacity: 0.25 }; },
        onEachFeature: function (feature, shape) {
          var tip = document.createElement("span");
          tip.textContent = feature.properties.name;
          shape.bindTooltip(tip, { sticky: true });
        }
      }).addTo(map);
      var candidates = L.geoJSON(found[1], {
        style: function () { return { color: "#1565c0", weight: 2, fillOpacity: 0 }; },
        onEachFeature: function (feature, shape) {
          var p = feature.properties;
          var tip = document.createElement("span");
          // The page gives the mark between the parts (the Persian comma in Persian: a middle dot
          // there reads as a zero).
          var sep = el.dataset.separator || " · ";
          tip.textContent = [p.label, p.area_text, p.suitability_text, p.haul_text].join(sep);
          shape.bindTooltip(tip, { sticky: true });
        }
      }).addTo(map);
      layers[el.dataset.labelConstraints] = constraints;
      layers[el.dataset.labelCandidates] = candidates;
      L.control.layers(null, layers, { collapsed: false }).addTo(map);
      overlay.on("load", function () { el.dataset.ready = String(candidates.getLayers().length); });
    }).catch(function (error) { el.dataset.error = String(error); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("siting-map");
    if (el) { draw(el); }
  });
})();
