// Dialogs: a link with data-dialog="<id>" opens that <dialog> instead of its own page (the page
// is there for browsers without JavaScript); [data-close-dialog] buttons close it. A dialog
// marked data-open (the server re-showing it with errors) opens at once.
(function () {
  "use strict";
  document.querySelectorAll("a[data-dialog]").forEach(function (link) {
    var dialog = document.getElementById(link.dataset.dialog);
    if (!dialog || typeof dialog.showModal !== "function") return;
    link.addEventListener("click", function (event) {
      event.preventDefault();
      dialog.showModal();
      var first = dialog.querySelector("input:not([type=hidden]), textarea, select");
      if (first) first.focus();
    });
  });
  document.querySelectorAll("dialog").forEach(function (dialog) {
    dialog.querySelectorAll("[data-close-dialog]").forEach(function (button) {
      button.addEventListener("click", function () { dialog.close(); });
    });
    if (dialog.hasAttribute("data-open") && typeof dialog.showModal === "function") dialog.showModal();
  });
})();
