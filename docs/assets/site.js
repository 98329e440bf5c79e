/* Accessibility fixes to Material's markup, once it has mounted its components (axe in
 * tests/test_browser.py): the search dialog gets a name, the copy buttons' <nav>s are no
 * landmarks, and a section's icon-only label gets the section's name for screen readers. */
(function () {
  "use strict";

  function fix() {
    var search = document.querySelector('.md-search[role="dialog"]:not([aria-label])');
    if (search) search.setAttribute("aria-label", "Search");
    var navs = document.querySelectorAll("nav.md-code__nav:not([role])");
    for (var i = 0; i < navs.length; i++) navs[i].setAttribute("role", "none");
    var labels = document.querySelectorAll(".md-nav__container > label.md-nav__link");
    for (var j = 0; j < labels.length; j++) {
      var link = labels[j].parentElement.querySelector("a");
      if (link && !labels[j].textContent.trim()) {
        // Text, not aria-label, which a <label> may not carry (axe: aria-prohibited-attr).
        var name = document.createElement("span");
        name.className = "visually-hidden";
        name.textContent = link.textContent.trim();
        labels[j].append(name);
      }
    }
  }

  if (window.document$) {
    window.document$.subscribe(fix);
  } else {
    // Material's script did not run: undo the classes that docs/overrides/main.html set on
    // its behalf, so the no-JavaScript styles apply.
    document.documentElement.classList.replace("js", "no-js");
    document.documentElement.classList.remove("js-focus-visible");
    fix();
  }
})();
