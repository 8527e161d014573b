// Progressive enhancement only: every page works without this script.
"use strict";
document.documentElement.classList.add("js");
