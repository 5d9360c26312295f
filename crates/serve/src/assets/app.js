// riskcensus serve: drag and drop with upload progress, and the findings filters. No library,
// nothing fetched from elsewhere; every page works without it (plain form posts).
"use strict";
(function () {
  var form = document.getElementById("upload");
  if (form) {
    var input = document.getElementById("files");
    var drop = document.getElementById("drop");
    var bar = document.getElementById("upload-progress");
    ["dragenter", "dragover"].forEach(function (t) {
      drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      drop.addEventListener(t, function () { drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      input.files = e.dataTransfer.files;
    });
    form.addEventListener("submit", function (e) {
      if (!window.XMLHttpRequest || !window.FormData) { return; }
      e.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      bar.hidden = false;
      xhr.upload.onprogress = function (p) {
        if (p.lengthComputable) { bar.value = Math.round(100 * p.loaded / p.total); }
      };
      xhr.onload = function () {
        if (xhr.status >= 400) {
          bar.hidden = true;
          var box = document.getElementById("upload-error") || document.createElement("p");
          box.id = "upload-error";
          box.className = "failed";
          box.textContent = xhr.responseText;
          form.appendChild(box);
        } else {
          window.location = xhr.responseURL;
        }
      };
      xhr.send(new FormData(form));
    });
  }
  var table = document.getElementById("findings");
  if (table) {
    var ids = ["filter-severity", "filter-rule", "filter-column"];
    var keys = ["severity", "rule", "column"];
    var count = document.getElementById("shown-count");
    var apply = function () {
      var wanted = ids.map(function (id) { return document.getElementById(id).value; });
      var shown = 0;
      var rows = table.tBodies[0].rows;
      for (var i = 0; i < rows.length; i++) {
        var ok = keys.every(function (k, j) { return !wanted[j] || rows[i].dataset[k] === wanted[j]; });
        rows[i].hidden = !ok;
        if (ok) { shown++; }
      }
      count.textContent = shown + " / " + rows.length;
    };
    ids.forEach(function (id) { document.getElementById(id).addEventListener("change", apply); });
    apply();
  }
})();
