// Progressive enhancement only: every page works without this script.
"use strict";
document.documentElement.classList.add("js");

// A form's submit button says what is happening while the server works (planning can
// take a while); it is disabled so a second click does not post twice.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && button.dataset.busy) {
    setTimeout(() => {
      button.disabled = true;
      button.textContent = button.dataset.busy;
    }, 0);
  }
});

// The live agent timeline: each event of the run brings the timeline fragment anew; the
// end of the run reloads the page (status, buttons, history).
function followRun(box) {
  const source = new EventSource(box.dataset.events);
  let pending = null;
  const refresh = () => {
    pending = null;
    fetch(box.dataset.fragment, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : null))
      .then((html) => {
        if (html !== null) box.innerHTML = html;
      })
      .catch(() => {});
  };
  const changed = () => {
    if (pending === null) pending = setTimeout(refresh, 150);
  };
  for (const kind of ["queued", "waiting", "started", "step_started", "step_finished", "step_failed", "log"]) {
    source.addEventListener(kind, changed);
  }
  source.addEventListener("finished", () => {
    source.close();
    window.location.reload();
  });
}

// The plan editor checks the spec as you edit: the same post as "Check the plan", with the
// server's answer's problem summary swapped in (the rows keep their focus and values).
function checkLive(form) {
  let timer = null;
  let asked = 0;
  const check = () => {
    const body = new FormData(form);
    body.set("action", "check");
    const mine = ++asked;
    // not form.action: the editor's buttons are named "action", which shadows the property
    fetch(form.getAttribute("action"), { method: "POST", body, credentials: "same-origin" })
      .then((response) => response.text())
      .then((html) => {
        if (mine !== asked) return; // a newer check is on its way
        const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("problems");
        const shown = document.getElementById("problems");
        if (fresh && shown) shown.replaceWith(fresh);
      })
      .catch(() => {});
  };
  form.addEventListener("change", (event) => {
    if (event.target.name === "yaml") return;
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("timeline");
  if (box && box.dataset.events && "EventSource" in window) followRun(box);
  const editor = document.getElementById("spec-form");
  if (editor && window.fetch && window.DOMParser) checkLive(editor);
});

// Copy buttons: <button data-copy="id-of-element"> copies that element's text (the new
// API key); the button says whether it worked.
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(
    () => { button.textContent = "Copied"; },
    () => { button.textContent = "Copy failed: select the key and copy it"; },
  );
});
