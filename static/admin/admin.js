// Cartback admin: progressive enhancement only; every page works without it.

// On a narrow screen the chart scrolls inside its card: start at the latest days.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".chart-scroll").forEach(function (box) { box.scrollLeft = box.scrollWidth; });
});

// Inside the Shopify admin (App Bridge loaded, window.shopify present): the admin's
// own sidebar and title bar replace ours, every form posts with a fresh App Bridge
// session token in the Authorization header (never in a URL), and results show as
// toasts. Without App Bridge (other platforms, or Shopify's CDN out of reach)
// nothing here runs and the pages keep our own nav, styles and plain form posts.
(function () {
  "use strict";
  var shopify = window.shopify;
  if (!shopify || typeof shopify.idToken !== "function" || !window.fetch || !window.DOMParser) {
    return;
  }
  document.documentElement.classList.add("in-shopify");

  function toast(message, isError) {
    if (shopify.toast && message) { shopify.toast.show(message, { isError: !!isError }); }
  }

  function withToken(url, options) {
    return shopify.idToken().then(function (token) {
      options.headers = Object.assign({}, options.headers || {}, { Authorization: "Bearer " + token });
      options.credentials = "same-origin";
      return fetch(url, options);
    });
  }

  // The address bar keeps the page's URL without one-off messages (they became a toast).
  function cleanUrl(url) {
    var parsed = new URL(url, window.location.href);
    parsed.searchParams.delete("notice");
    parsed.searchParams.delete("error");
    return parsed.pathname + parsed.search + parsed.hash;
  }

  function show(html, url, ok) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var main = doc.getElementById("main");
    if (!main) { return false; }
    document.getElementById("main").replaceWith(document.adoptNode(main));
    document.title = doc.title;
    var target = cleanUrl(url);
    if (target.split("?")[0] !== window.location.pathname) {
      window.history.pushState(null, "", target);
    } else {
      window.history.replaceState(null, "", target);
    }
    var banner = main.querySelector(".banner.critical, .banner.success, .banner.info");
    var heading = main.querySelector("h1");
    if (banner) {
      toast(banner.textContent.trim().split("\n")[0], !ok || banner.classList.contains("critical"));
    } else if (!ok && heading) {
      toast(heading.textContent.trim(), true);
    }
    return true;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") { return; }
    if (submitter && submitter.hasAttribute("data-download")) { return; }
    event.preventDefault();
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var action = (submitter && submitter.getAttribute("formaction")) || form.action;
    withToken(action, { method: "POST", body: data, headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.text().then(function (html) {
          if (!show(html, response.url, response.ok)) { throw new Error("not a page"); }
        });
      })
      .catch(function () { toast("That did not go through. Check your connection and try again.", true); });
  });
})();

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
