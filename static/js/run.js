// The run form: offer only the images of the chosen host ("any": those some host can take).
// The other hosts' groups leave the list altogether (kept here, put back when their host is
// chosen), so an image offered by several hosts appears once. The image chosen stays chosen
// when the new host offers it too.
(function () {
  "use strict";
  var host = document.getElementById("id_host");
  var image = document.getElementById("id_image");
  if (!host || !image) return;
  var groups = Array.prototype.slice.call(image.querySelectorAll("optgroup"));
  function filter() {
    var chosen = image.value;
    groups.forEach(function (group) {
      if (group.dataset.host === host.value) {
        if (!group.parentNode) image.appendChild(group);
      } else if (group.parentNode) {
        group.remove();
      }
    });
    var same = Array.prototype.find.call(image.options, function (option) {
      return option.dataset.host === host.value && option.value === chosen;
    });
    if (same) same.selected = true; else image.value = "";
  }
  host.addEventListener("change", filter);
  filter();
})();
