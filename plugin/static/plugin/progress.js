// Keeps the "Catching up" progress bar on the settings page current without reloading the form.
(function () {
  "use strict";
  var section = document.getElementById("backfill");
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
        if (progress.done < progress.total) window.setTimeout(poll, 5000);
      })
      .catch(function () { window.setTimeout(poll, 15000); });
  }
  window.setTimeout(poll, 5000);
})();
