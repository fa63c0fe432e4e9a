/* Outage Comms in-app banner. No dependencies; text is set with textContent only.
   <script src="https://status.example.com/embed/banner.js" data-locale="pt-BR" async></script> */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch) { return; }
  var base = new URL(".", script.src);
  var url = new URL("../api/v2/banner.json", base);
  var wanted = script.getAttribute("data-locale") || navigator.language || "";
  function pick(locales, fallback) {
    if (locales[wanted]) { return locales[wanted]; }
    var lang = wanted.split("-")[0];
    for (var code in locales) {
      if (Object.prototype.hasOwnProperty.call(locales, code) && code.split("-")[0] === lang) { return locales[code]; }
    }
    return locales[fallback];
  }
  fetch(url.href, { credentials: "omit", cache: "no-cache" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (feed) {
      if (!feed || !feed.active || !feed.banners.length) { return; }
      var b = feed.banners[0];
      var words = pick(b.locales, feed.default_locale);
      if (!words) { return; }
      var box = document.createElement("div");
      box.setAttribute("role", "status");
      box.setAttribute("data-outage-comms-severity", String(b.severity));
      box.style.cssText = "padding:12px 16px;background:#fff8c5;color:#1f2328;border-bottom:2px solid #9a6700;font:15px/1.4 system-ui,sans-serif";
      var title = document.createElement("strong");
      title.textContent = String(words.title);
      var body = document.createElement("span");
      body.textContent = " " + String(words.body) + " ";
      var link = document.createElement("a");
      var href = new URL(String(b.link), url);
      if (href.protocol === "https:" || href.protocol === "http:") { link.href = href.href; }
      link.textContent = href.hostname + href.pathname;
      box.appendChild(title);
      box.appendChild(body);
      box.appendChild(link);
      document.body.insertBefore(box, document.body.firstChild);
    })
    .catch(function () { /* the banner is optional: never break the host page */ });
})();
