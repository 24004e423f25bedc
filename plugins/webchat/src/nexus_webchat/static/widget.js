/* Nexus web-chat loader: the one <script> tag an operator's page embeds.
 *   <script src="https://support.example.com/webchat/static/widget.js" data-key="KEY" async></script>
 * It loads the widget module from the same Nexus, so nothing comes from anywhere else. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__nexusWebchat) return;
  window.__nexusWebchat = true;
  var base = new URL(script.src, location.href);
  var data = script.dataset;
  var options = {
    base: base.origin,
    key: data.key,
    open: data.open === "true",
    user: data.userId ? { id: data.userId, hash: data.userHash, name: data.userName, email: data.userEmail } : null,
  };
  import(new URL("chat.js", base).href).then(function (module) {
    module.start(options);
  }, function (error) {
    console.error("Nexus web chat could not load:", error);
  });
})();
