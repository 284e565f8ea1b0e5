/*
 * Cartback storefront beacon for WooCommerce (no dependencies).
 *
 * WooCommerce has no cart webhook, so the store's own pages tell Cartback
 * about the cart: on a cart change and when the checkout email field changes,
 * read the shopper's cart from the Store API (same origin) and post a small
 * snapshot to Cartback. Nothing is ever read back from Cartback.
 *
 *   <script src="https://YOUR-CARTBACK/static/cartback-beacon.js"
 *           data-endpoint="https://YOUR-CARTBACK/collect/pk_..." defer></script>
 *
 * Optional: data-cart-url (default: /cart/), data-store-api (default:
 * /wp-json/wc/store/v1/cart). A page opened from a saved-cart link carries
 * ?cartback_saved=1 and the flag travels with the snapshot. A page opened
 * through a reminder's restore link carries ?cartback_token=… (the original
 * cart's token), which this device then reports under.
 *
 * SMS (only where the store's checkout asks for SMS marketing consent):
 * data-sms-consent names the consent tick box and data-sms-phone the number
 * field (CSS selectors, e.g. "#cartback_sms_consent" and "#billing_phone").
 * The number is sent only while the box is ticked; unticked says "no".
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch) { return; }
  var endpoint = script.getAttribute("data-endpoint");
  if (!endpoint) { return; }
  var storeApi = script.getAttribute("data-store-api") || "/wp-json/wc/store/v1/cart";
  var cartUrl = new URL(script.getAttribute("data-cart-url") || "/cart/", location.href).href;
  var EMAIL = /^[^@\s,;<>"()]+@[^@\s,;<>"()]+\.[^@\s,;<>"()]+$/;
  var KEY = "cartback_cart_token";

  // A restore link (the store plugin) hands over the original cart's token, so
  // a shopper finishing on another device stays one Cartback cart.
  try {
    var handed = new URLSearchParams(location.search).get("cartback_token");
    if (handed && /^[A-Za-z0-9._:-]{8,128}$/.test(handed)) { localStorage.setItem(KEY, handed); }
  } catch (e) { /* private mode: a new token it is */ }

  function cartToken() {
    var token = null;
    try { token = localStorage.getItem(KEY); } catch (e) { /* private mode */ }
    if (!token) {
      token = "cb." + Math.random().toString(36).slice(2) + Date.now().toString(36);
      try { localStorage.setItem(KEY, token); } catch (e) { /* keep for this page */ }
    }
    return token;
  }

  function savedLink() {
    try {
      if (new URLSearchParams(location.search).get("cartback_saved") === "1") {
        sessionStorage.setItem("cartback_saved", "1");
      }
      return sessionStorage.getItem("cartback_saved") === "1";
    } catch (e) { return false; }
  }

  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  function emailTyped() {
    var field = document.querySelector("#email, #billing_email, input[type=email][autocomplete=email]");
    var value = field && field.value ? field.value.trim() : "";
    return EMAIL.test(value) ? value : null;
  }

  // {phone, sms_consent, country} from the store's own consent box, or {} without one.
  function smsConsent() {
    var box = script.dataset.smsConsent && document.querySelector(script.dataset.smsConsent);
    if (!box) { return {}; }
    if (!box.checked) { return { sms_consent: false }; }
    var phone = script.dataset.smsPhone && document.querySelector(script.dataset.smsPhone);
    var country = document.querySelector("#billing_country");
    return {
      sms_consent: true, phone: phone && phone.value ? phone.value.trim() : null,
      country: country && country.value ? country.value : null
    };
  }

  function slim(cart) {
    return {
      items: (cart.items || []).map(function (item) {
        return {
          name: item.name, quantity: item.quantity, sku: item.sku || null,
          permalink: item.permalink || null,
          images: (item.images || []).slice(0, 1).map(function (i) {
            return { src: i.src, thumbnail: i.thumbnail };
          }),
          prices: item.prices ? {
            price: item.prices.price, currency_code: item.prices.currency_code,
            currency_minor_unit: item.prices.currency_minor_unit
          } : {}
        };
      }),
      totals: cart.totals ? {
        total_price: cart.totals.total_price, currency_code: cart.totals.currency_code,
        currency_minor_unit: cart.totals.currency_minor_unit
      } : {}
    };
  }

  var timer = null;
  var last = "";
  function send() {
    fetch(storeApi, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (cart) {
        if (!cart || !cart.items || !cart.items.length) { return; }
        var snapshot = {
          cart_token: cartToken(), cart_hash: cookie("woocommerce_cart_hash"),
          cart: slim(cart), email: emailTyped(), saved_link: savedLink(), cart_url: cartUrl,
          locale: navigator.language || null,
          timezone: (Intl.DateTimeFormat().resolvedOptions() || {}).timeZone || null
        };
        var sms = smsConsent();
        for (var key in sms) { snapshot[key] = sms[key]; }
        var body = JSON.stringify(snapshot);
        if (body === last) { return; }  // nothing changed since the last snapshot
        last = body;
        return fetch(endpoint, {
          method: "POST", mode: "cors", credentials: "omit", keepalive: true,
          headers: { "Content-Type": "application/json" }, body: body
        });
      })
      .catch(function () { /* the shop must never break because of us */ });
  }
  function soon() {
    clearTimeout(timer);
    timer = setTimeout(send, 800);  // let WooCommerce finish updating first
  }

  // Classic themes announce cart changes through jQuery events.
  if (window.jQuery) {
    window.jQuery(document.body).on(
      "added_to_cart removed_from_cart updated_cart_totals updated_checkout", soon);
  }
  // Block themes and anything else: watch Store API cart calls made by the page.
  var nativeFetch = window.fetch;
  window.fetch = function (input, init) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    var result = nativeFetch.apply(this, arguments);
    if (url.indexOf("/wc/store/") !== -1 && url.indexOf(storeApi) === -1 &&
        init && init.method && init.method.toUpperCase() !== "GET") {
      result.then(soon, function () {});
    }
    return result;
  };
  document.addEventListener("change", function (event) {
    var target = event.target;
    var smsFields = [script.dataset.smsConsent, script.dataset.smsPhone].filter(Boolean).join(", ");
    if (target && target.matches && (target.matches("#email, #billing_email, input[type=email]") ||
        (smsFields && target.matches(smsFields)))) {
      soon();
    }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", soon);
  } else {
    soon();
  }
})();
