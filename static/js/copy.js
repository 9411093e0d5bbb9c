// Copy buttons: a button with data-copy="<id>" copies the text of that element. The Clipboard
// API needs a secure context (HTTPS or this machine); elsewhere the text is selected and copied
// the older way. The button says whether it worked.
(function () {
  "use strict";
  function copied(button, worked) {
    var label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = worked ? "Copied" : "Select and copy it";
    setTimeout(function () { button.textContent = label; }, 2000);
  }
  function selectAndCopy(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { return document.execCommand("copy"); } catch (error) { return false; }
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { copied(button, true); },
          function () { copied(button, selectAndCopy(source)); });
      } else {
        copied(button, selectAndCopy(source));
      }
    });
  });
})();
