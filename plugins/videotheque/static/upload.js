// Sends a video to the Vidéothèque in chunks, resuming from the offset the server reports
// after any failure, with a progress bar. The new-testimony form first posts its fields with
// the file's size (not the file); the resume form goes straight to the chunks.
(function () {
  "use strict";
  var RETRIES = 8;

  function wait(ms) { return new Promise(function (ok) { setTimeout(ok, ms); }); }

  function Uploader(form) {
    this.form = form;
    this.chunk = parseInt(form.dataset.chunk, 10) || 8388608;
    this.csrf = form.dataset.csrf;
    this.bar = form.querySelector(".vt-progress");
    this.status = form.querySelector(".vt-status");
    // The page's messages, translated by the server (data-msg-*).
    this.msg = form.dataset;
  }

  Uploader.prototype.say = function (text) { if (this.status) { this.status.textContent = text; } };

  Uploader.prototype.progress = function (offset, size) {
    if (!this.bar) { return; }
    this.bar.hidden = false;
    this.bar.value = size ? Math.floor((100 * offset) / size) : 0;
    this.say(this.msg.msgProgress.replace("%(n)s", this.bar.value));
  };

  Uploader.prototype.offset = function (url) {
    return fetch(url, { method: "HEAD", credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("offset " + r.status); }
      return parseInt(r.headers.get("Upload-Offset"), 10);
    });
  };

  Uploader.prototype.send = function (url, file, offset, failures) {
    var self = this;
    self.progress(offset, file.size);
    if (offset >= file.size) { return Promise.resolve(offset); }
    var end = Math.min(offset + self.chunk, file.size);
    return fetch(url, {
      method: "PATCH",
      credentials: "same-origin",
      headers: { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream", "X-CSRFToken": self.csrf },
      body: file.slice(offset, end)
    }).then(function (r) {
      if (r.status === 204) { return self.send(url, file, parseInt(r.headers.get("Upload-Offset"), 10), 0); }
      if (r.status === 422 || r.status === 403 || r.status === 400) {
        return r.json().then(function (problem) { throw new Error(problem.detail || problem.title); });
      }
      throw new Error("retry");
    }).catch(function (error) {
      if (error.message !== "retry" && !(error instanceof TypeError)) { throw error; }
      if (failures >= RETRIES) { throw new Error(self.msg.msgStopped); }
      self.say(self.msg.msgRetry);
      return wait(Math.min(1000 * Math.pow(2, failures), 30000))
        .then(function () { return self.offset(url); })
        .then(function (at) { return self.send(url, file, at, failures + 1); });
    });
  };

  Uploader.prototype.showErrors = function (errors) {
    var form = this.form, first = null;
    form.querySelectorAll(".vt-js-error").forEach(function (p) { p.remove(); });
    Object.keys(errors).forEach(function (name) {
      var input = form.querySelector("[name=" + name + "]");
      var p = document.createElement("p");
      p.className = "error vt-js-error";
      p.id = name + "-erreur-js";
      p.textContent = errors[name];
      var holder = input ? (input.closest(".field") || input.closest("fieldset")) : null;
      if (holder) {
        holder.appendChild(p);
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "") + " " + p.id).trim());
        first = first || input;
      } else { form.prepend(p); }
    });
    this.say(this.msg.msgErrors);
    if (first) { first.focus(); }
  };

  Uploader.prototype.start = function (event) {
    var self = this, form = self.form;
    var input = form.querySelector("input[type=file][name=file]");
    var file = input && input.files[0];
    event.preventDefault();
    if (form.dataset.uploadUrl) {
      if (!file) { self.showErrors({ file: self.msg.msgNoFile }); return; }
      self.offset(form.dataset.uploadUrl)
        .then(function (at) { return self.send(form.dataset.uploadUrl, file, at, 0); })
        .then(function () { window.location = form.dataset.videoUrl; })
        .catch(function (error) { self.say(error.message); });
      return;
    }
    var data = new FormData(form);
    data.delete("file");
    data.set("size", file ? String(file.size) : "");
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (r.status !== 201) { self.showErrors(body.errors || {}); return null; }
          form.dataset.videoUrl = body.video_url;
          return self.send(body.upload_url, file, body.offset, 0).then(function () { window.location = body.video_url; });
        });
      })
      .catch(function (error) { self.say(error.message); });
  };

  document.querySelectorAll("form.vt-upload").forEach(function (form) {
    var uploader = new Uploader(form);
    form.addEventListener("submit", function (event) { uploader.start(event); });
  });
})();
