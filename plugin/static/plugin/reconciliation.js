// Keeps the reconciliation progress bar current, then reloads the page to show the finished report
// (the same polling pattern as progress.js on the settings page).
(function () {
  "use strict";
  var section = document.getElementById("reconciliation-progress");
  if (!section) return;
  var bar = section.querySelector("progress");
  var done = section.querySelector("[data-done]");
  var total = section.querySelector("[data-total]");
  function poll() {
    fetch(section.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (progress) {
        if (!progress) return;
        bar.max = progress.total;
        bar.value = progress.done;
        done.textContent = progress.done;
        total.textContent = progress.total;
        if (progress.status === "done" || progress.status === "failed") window.location.reload();
        else window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
