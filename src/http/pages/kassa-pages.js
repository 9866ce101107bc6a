// Progressive enhancement for Kassa's checkout page. Without it every form still posts
// and the server answers with the whole page; with it, forms post in the background,
// only the summary, shipping options and error regions are swapped, and focus stays
// where the shopper is.
(function () {
  "use strict";

  function swapRegions(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-region]").forEach(function (el) {
      var fresh = el.id && doc.getElementById(el.id);
      if (fresh) el.replaceWith(fresh);
    });
    wire(document);
    var errors = document.getElementById("errors");
    if (errors && !errors.classList.contains("empty")) errors.focus();
    return doc;
  }

  // A form that saves state (the details, the shipping choice) sent while its previous
  // post is still out (an autosave racing the shopper's own submit) is sent again once
  // that post is back, so the server ends with what the form holds now; the page counts
  // as updated only after the last of them. A code box sent twice is sent once.
  function send(form) {
    if (form.dataset.busy) {
      if (form.hasAttribute("data-autosave") || form.hasAttribute("data-autosubmit")) {
        form.dataset.again = "1";
      }
      return;
    }
    form.dataset.busy = "1";
    var body = new URLSearchParams(new FormData(form));
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (res) {
        return res.text().then(function (html) {
          var doc = swapRegions(html);
          // Coupon and gift certificate boxes clear once the code is applied.
          var last = !form.dataset.again;
          if (res.ok && last && form.id !== "details-form") form.reset();
          if (last) document.body.dataset.updated = String(Date.now());
          // The pay button shows the amount due; keep it in step with the summary.
          var fresh = doc.getElementById("place-order");
          var current = document.getElementById("place-order");
          if (fresh && current) current.textContent = fresh.textContent;
        });
      })
      .catch(function () { form.submit(); })
      .finally(function () {
        delete form.dataset.busy;
        if (form.dataset.again) {
          delete form.dataset.again;
          send(form);
        }
      });
  }

  function wire(root) {
    root.querySelectorAll("form[data-enhance]").forEach(function (form) {
      if (form.dataset.wired) return;
      form.dataset.wired = "1";
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        send(form);
      });
      if (form.hasAttribute("data-autosubmit")) {
        form.addEventListener("change", function () { send(form); });
      }
      if (form.hasAttribute("data-autosave")) {
        // Shipping options depend on the address: refresh them once it is complete.
        form.addEventListener("change", function (e) {
          if (/(country_code|postal_code|state_or_province|city)$/.test(e.target.name || "") &&
              form.checkValidity()) send(form);
        });
      }
    });
    var same = document.getElementById("same_as_billing");
    var ship = document.getElementById("shipping-address");
    if (same && ship && !same.dataset.wired) {
      same.dataset.wired = "1";
      var sync = function () {
        ship.hidden = same.checked;
        ship.querySelectorAll("input,select").forEach(function (i) { i.required = !same.checked; });
      };
      same.addEventListener("change", sync);
      sync();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    wire(document);
    var errors = document.getElementById("errors");
    if (errors && !errors.classList.contains("empty")) errors.focus();
    var done = document.getElementById("order-complete");
    if (done && window.parent !== window) {
      var origins = (done.dataset.origins || "").split(" ").filter(Boolean);
      origins.forEach(function (origin) {
        window.parent.postMessage({ type: "COMPLETE", orderId: Number(done.dataset.orderId) }, origin);
      });
    }
  });
})();
