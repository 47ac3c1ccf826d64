// The import wizard's upload form, when JavaScript runs: htmx posts it and
// reports the upload's progress, shown in the form's progress bar; a
// refusal (4xx, 5xx) is shown in place of the page's main content, as the
// plain form post would show it. Without JavaScript the form posts as is.
(function () {
  "use strict";
  function percent(detail) {
    return detail.total ? Math.round((detail.loaded / detail.total) * 100) : 0;
  }
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest ? event.target.closest("#upload-form") : null;
    if (!form) {
      return;
    }
    var box = document.getElementById("upload-progress");
    var bar = document.getElementById("upload-bar");
    var label = document.getElementById("upload-percent");
    var value = percent(event.detail);
    box.hidden = false;
    bar.value = value;
    bar.textContent = value + "%";
    label.textContent = value + "% uploaded";
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.target.closest ? event.target.closest("main") : null;
    if (form && document.getElementById("upload-form") && event.detail.xhr.status >= 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
