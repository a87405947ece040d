// Shows, as the administrator picks an earlier `Sync from`, what saving it will add: the invoices to book, the
// Exact Online calls and the days of the daily budget. Saving takes effect at once, so this is the time to see it.
(function () {
  "use strict";
  var note = document.getElementById("sync-from-estimate");
  if (!note) return;
  var input = document.getElementById(note.dataset.for);
  if (!input) return;
  var asked = 0;
  function estimate() {
    var mine = ++asked;
    var url = note.dataset.estimateUrl + "?sync_from=" + encodeURIComponent(input.value);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (found) {
        if (mine !== asked) return; // a later date was picked meanwhile
        note.textContent = (found && found.text) || "";
        note.hidden = !note.textContent;
      })
      .catch(function () { note.hidden = true; });
  }
  input.addEventListener("change", estimate);
})();
