/* The live chat, on top of pages that work without it: new messages appear as they come
   (Server-Sent Events, resumed by the browser with Last-Event-ID), the form posts without
   reloading the page, the read marker follows what is on screen and the other channels'
   unread counts go up. The stream is open only while the page is in view: an open stream
   tells the server that its reader sees the channel, so that a mention does not notify
   them (see live.py); a page out of view closes it and says so, and opens it again,
   resuming where it stopped, when it comes back. */
(function () {
  "use strict";
  var main = document.querySelector(".chat-main[data-stream]");
  if (!main || !window.EventSource || !window.fetch) { return; }
  var list = document.getElementById("chat-messages");
  var status = document.getElementById("chat-etat");
  var form = document.getElementById("chat-ecrire");
  var csrf = main.dataset.csrf;
  var me = main.dataset.me;
  var lastSeq = parseInt(main.dataset.since, 10) || 0;
  var readTimer = null;
  var source = null;
  var tab = null;  // the open stream's name, for the server to end it

  function markRead() {
    if (!csrf || document.hidden) { return; }
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      fetch(main.dataset.read, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
        body: JSON.stringify({seq: lastSeq})
      });
    }, 300);
  }

  // A live message is the same for every reader: give it this reader's CSRF token, and
  // show pressed the reactions that are theirs.
  function adopt(item) {
    var mine = {};
    item.querySelectorAll("button[data-by]").forEach(function (button) {
      if (button.dataset.by.split(" ").indexOf(me) >= 0) { mine[button.value] = true; }
    });
    item.querySelectorAll(".chat-reactions button[name=emoji]").forEach(function (button) {
      button.setAttribute("aria-pressed", mine[button.value] ? "true" : "false");
    });
    item.querySelectorAll("input[name=csrf_token]").forEach(function (input) {
      input.value = csrf;
    });
  }

  function place(html) {
    var holder = document.createElement("ol");
    holder.innerHTML = html;  // rendered and sanitised by the server
    var item = holder.firstElementChild;
    if (!item) { return; }
    adopt(item);
    var existing = document.getElementById(item.id);
    if (existing) {
      existing.replaceWith(item);
    } else {
      list.appendChild(item);
      var empty = document.getElementById("chat-vide");
      if (empty) { empty.remove(); }
    }
  }

  function onEvent(event) {
    lastSeq = Math.max(lastSeq, parseInt(event.lastEventId, 10) || 0);
    place(event.data);
    markRead();
  }
  // The unread count shown for another channel: ``count(shown)`` gives the new one.
  function setUnread(channel, count) {
    var item = document.querySelector('#chat-canaux li[data-channel="' + channel + '"]');
    if (!item) { return; }
    var badge = item.querySelector(".chat-unread");
    var shown = badge.querySelector(".chat-unread-count");
    var n = count(parseInt(shown.textContent, 10) || 0);
    shown.textContent = String(n);
    badge.hidden = !n;
  }
  function onUnread(event) {
    setUnread(JSON.parse(event.data).channel, function (n) { return n + 1; });
  }
  // A page back in view missed the other channels' news while its stream was closed.
  function refreshUnread() {
    fetch(main.dataset.channels, {credentials: "same-origin"}).then(function (response) {
      return response.ok ? response.json() : [];
    }).then(function (channels) {
      channels.forEach(function (channel) {
        if (String(channel.id) === main.dataset.channel) { return; }
        setUnread(channel.id, function () { return channel.unread; });
      });
    }).catch(function () {});
  }

  function openStream() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    tab = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    source = new EventSource(main.dataset.stream + "?" + new URLSearchParams({depuis: lastSeq, onglet: tab}));
    ["posted", "edited", "deleted", "hidden", "reacted"].forEach(function (kind) {
      source.addEventListener(kind, onEvent);
    });
    source.addEventListener("unread", onUnread);
    source.addEventListener("open", function () { status.textContent = ""; });
    source.addEventListener("error", function () {
      status.textContent = main.dataset.offline || "";
    });
  }

  function closeStream() {
    source.close();
    source = null;
    // The server would notice the closed connection only at its next write.
    fetch(main.dataset.away, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({onglet: tab})
    }).catch(function () {});
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      if (source) { closeStream(); }
    } else {
      if (!source) {
        openStream();
        refreshUnread();
      }
      markRead();
    }
  });
  if (!document.hidden) { openStream(); }

  // A reaction goes through the API; the stream brings the message back with it.
  list.addEventListener("submit", function (event) {
    var reactions = event.target.closest(".chat-reactions");
    if (!reactions || !event.submitter) { return; }
    event.preventDefault();
    fetch(reactions.dataset.api, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({emoji: event.submitter.value})
    }).then(function (response) {
      if (!response.ok) {
        return response.json().then(function (problem) { status.textContent = problem.detail || problem.title; });
      }
    }).catch(function () {
      status.textContent = main.dataset.offline || "";
    });
  });

  if (form) {
    form.addEventListener("submit", function (event) {
      var body = form.querySelector("textarea[name=body]");
      var reply = form.querySelector("input[name=reply_to]");
      var photo = form.querySelector("input[name=photo]");
      // A photo goes with the form itself; an empty text gets the page's own error.
      if (!body.value.trim() || (photo && photo.files.length)) { return; }
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      fetch(main.dataset.post, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
        body: JSON.stringify({body: body.value, reply_to: reply && reply.value ? parseInt(reply.value, 10) : null})
      }).then(function (response) {
        if (response.ok) {
          body.value = "";
          if (reply) { reply.value = ""; }
          return;
        }
        return response.json().then(function (problem) { status.textContent = problem.detail || problem.title; });
      }).catch(function () {
        form.submit();  // let the page post it the ordinary way
      }).finally(function () {
        button.disabled = false;
        body.focus();
      });
    });
  }
})();
