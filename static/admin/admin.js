// Cartback admin: progressive enhancement only; every page works without it.
(function () {
  "use strict";
  // The template editor and the Emails page: the preview follows the form as it is typed in.
  var form = document.querySelector("form[data-preview]");
  if (!form || !window.fetch) { return; }
  document.querySelectorAll(".js-hide").forEach(function (el) { el.hidden = true; });
  var frame = document.getElementById("preview-frame");
  var subject = document.getElementById("preview-subject");
  var problems = document.getElementById("preview-problems");
  var timer = null;
  function refresh() {
    var data = new FormData(form);
    data.delete("action");
    fetch(form.getAttribute("data-preview"), { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (result) {
        if (result.ok) {
          problems.hidden = true;
          subject.textContent = result.subject;
          frame.srcdoc = result.html;
        } else {
          problems.hidden = false;
          problems.textContent = "This would not render: " + result.problems.join("; ");
        }
      })
      .catch(function () { /* keep the last preview */ });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
})();
