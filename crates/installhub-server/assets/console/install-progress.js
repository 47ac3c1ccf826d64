// InstallHub console: follows a marketplace install on its page. The
// server pushes the rendered status as server-sent events ("status"), and
// says "end" when the install ended (or the stream's time is up); the page
// works without this script (it reloads itself while the install runs).
(function () {
  "use strict";
  var live = document.getElementById("install-live");
  if (!live || typeof EventSource === "undefined") {
    return;
  }
  var url = live.getAttribute("data-events");
  if (!url || live.getAttribute("data-terminal") === "true") {
    return;
  }
  var refresh = document.getElementById("install-refresh");
  var source = new EventSource(url);
  source.addEventListener("status", function (event) {
    // Server-rendered and escaped by the console's templates.
    live.innerHTML = event.data;
  });
  source.addEventListener("end", function (event) {
    source.close();
    var status = live.querySelector("[data-terminal]");
    var ended = status && status.getAttribute("data-terminal") === "true";
    live.setAttribute("data-terminal", ended ? "true" : "false");
    if (refresh) {
      refresh.hidden = ended && event.data === "done";
    }
  });
})();
