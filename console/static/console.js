// Tasker console: the live part of the Events page. New events arrive from
// the event stream and are added with textContent only, so nothing in an
// event is ever read as HTML.
"use strict";
(function () {
  var live = document.getElementById("live");
  var body = document.getElementById("events");
  if (!live || !body || !window.EventSource) {
    return;
  }
  var types = ["task.created", "task.updated", "task.status_changed", "task.completed", "task.assigned",
    "task.deleted", "task.reminder", "task.overdue", "comment.created", "user.linked"];
  var source = new EventSource(live.getAttribute("data-stream"));
  function cell(tr, label, text, cls) {
    var td = document.createElement("td");
    td.setAttribute("data-label", label);
    if (cls) {
      var span = document.createElement(cls === "code" ? "code" : "span");
      if (cls !== "code") span.className = cls;
      span.textContent = text;
      td.appendChild(span);
    } else {
      td.textContent = text;
    }
    tr.appendChild(td);
    return td;
  }
  function subject(ev) {
    var d = ev.data || {};
    if (d.task) return "#" + d.task.number + " " + d.task.title;
    if (d.comment) return "comment on #" + d.comment.task_number;
    if (d.user) return d.user.email;
    return "";
  }
  function add(msg) {
    var ev;
    try { ev = JSON.parse(msg.data); } catch (e) { return; }
    var placeholder = body.querySelector(".placeholder");
    if (placeholder) placeholder.remove();
    var tr = document.createElement("tr");
    tr.className = "fresh";
    cell(tr, "When", ev.timestamp.replace("T", " ").replace(/\.\d+/, "").replace("Z", ""));
    cell(tr, "Type", ev.type, "etype");
    var about = cell(tr, "About", "");
    if (ev.data && ev.data.task) {
      var a = document.createElement("a");
      a.href = "/console/tasks/" + encodeURIComponent(ev.data.task.id);
      a.textContent = subject(ev);
      about.appendChild(a);
    } else {
      about.textContent = subject(ev);
    }
    cell(tr, "Event", ev.id, "code");
    body.insertBefore(tr, body.firstChild);
  }
  types.forEach(function (t) { source.addEventListener(t, add); });
  source.onopen = function () { live.textContent = "live"; live.className = "live on"; };
  source.onerror = function () { live.textContent = "reconnecting…"; live.className = "live"; };
})();
