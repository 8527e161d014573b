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

// A deployment in progress: its status block is fetched anew every second and a half
// until it no longer asks to be (the fragment drops data-poll once the deployment ends).
function pollStatus(box) {
  const tick = () => {
    const poll = box.querySelector("[data-poll]");
    if (!poll) return;
    fetch(poll.dataset.poll, { credentials: "same-origin" })
      .then((response) => {
        // signed out meanwhile (a redirect to the log-in page) or gone: stop, keep the block
        if (!response.ok || response.redirected) return;
        return response.text().then((html) => {
          box.innerHTML = html;
          setTimeout(tick, 1500);
        });
      })
      .catch(() => setTimeout(tick, 5000));
  };
  setTimeout(tick, 1500);
}

// A running deployment's log: the server streams the tail and then each new chunk (chunked
// text) until the deployment ends; the shown tail is replaced by the stream.
function followLog(pre) {
  fetch(pre.dataset.follow, { credentials: "same-origin" })
    .then((response) => {
      if (!response.ok || !response.body) return;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let first = true;
      const read = () =>
        reader.read().then(({ done, value }) => {
          if (done) return;
          const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
          if (first) pre.textContent = "";
          first = false;
          pre.textContent += decoder.decode(value, { stream: true });
          if (atEnd) pre.scrollTop = pre.scrollHeight;
          return read();
        });
      return read();
    })
    .catch(() => {});
}

document.addEventListener("DOMContentLoaded", () => {
  const deployment = document.getElementById("deployment-box");
  if (deployment && window.fetch) pollStatus(deployment);
  const log = document.getElementById("deploy-log");
  if (log && log.dataset.follow && window.fetch && window.TextDecoder) followLog(log);
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
