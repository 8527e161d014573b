// Progressive enhancement only: every page works without this script.
"use strict";
document.documentElement.classList.add("js");

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
