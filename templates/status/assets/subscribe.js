/* The status page's subscribe form, enhanced: posts the same fields with fetch and shows the answer
   inline. Without JavaScript the form posts itself and the API answers with a small page. */
(function () {
  "use strict";
  var form = document.getElementById("subscribe");
  if (!form || !window.fetch || !window.URLSearchParams) {
    return;
  }
  var message = form.querySelector(".sub-msg");
  var button = form.querySelector("button");
  function show(text) {
    message.textContent = text;
    message.hidden = false;
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var fields = {};
    new FormData(form).forEach(function (value, name) {
      fields[name] = String(value);
    });
    button.disabled = true;
    fetch(form.getAttribute("action"), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(fields),
      credentials: "omit",
      cache: "no-store"
    })
      .then(function (response) {
        return response.json().catch(function () {
          return { message: response.ok ? "" : "Something went wrong. Please try again." };
        });
      })
      .then(function (answer) {
        show(String(answer.message || ""));
      })
      .catch(function () {
        form.submit();
      })
      .then(function () {
        button.disabled = false;
      });
  });
})();
