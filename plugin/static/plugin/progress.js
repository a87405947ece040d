// Keeps a progress bar current without reloading the page: every section with data-progress-url polls it.
// The settings page's "Catching up" stops when all is done; the reconciliation report (data-reload-when-finished)
// reloads the page once the run is done or failed, to show the finished report.
(function () {
  "use strict";
  function follow(section) {
    var bar = section.querySelector("progress");
    var done = section.querySelector("[data-done]");
    var total = section.querySelector("[data-total]");
    var every = Number(section.dataset.pollMs || 5000);
    var reloads = section.hasAttribute("data-reload-when-finished");
    function poll() {
      fetch(section.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (progress) {
          if (!progress) return;
          bar.max = progress.total;
          bar.value = progress.done;
          done.textContent = progress.done;
          total.textContent = progress.total;
          if (reloads && (progress.status === "done" || progress.status === "failed")) window.location.reload();
          else if (reloads || progress.done < progress.total) window.setTimeout(poll, every);
        })
        .catch(function () { window.setTimeout(poll, every * 3); });
    }
    window.setTimeout(poll, every);
  }
  document.querySelectorAll("[data-progress-url]").forEach(follow);
})();
