// The compare page: choosing another group lists that group's members to choose from at
// once (the form is sent again; the units already chosen stay chosen). Without JavaScript
// the Compare button does the same.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var group = document.getElementById("compare-group");
    if (!group || !group.form) { return; }
    group.addEventListener("change", function () {
      // The period belongs to the old choice; the page picks the latest with figures.
      var period = group.form.querySelector("#compare-period");
      if (period) { period.value = ""; }
      group.form.requestSubmit();
    });
  });
})();
