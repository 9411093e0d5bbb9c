// The run form: offer only the images of the chosen host.
(function () {
  "use strict";
  var host = document.getElementById("id_host");
  var image = document.getElementById("id_image");
  if (!host || !image) return;
  function filter() {
    image.querySelectorAll("optgroup").forEach(function (group) {
      var show = group.dataset.host === host.value;
      group.hidden = !show;
      group.disabled = !show;
    });
    var selected = image.selectedOptions[0];
    if (selected && selected.dataset.host && selected.dataset.host !== host.value) image.value = "";
  }
  host.addEventListener("change", filter);
  filter();
})();
