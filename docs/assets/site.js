/* Site-wide accessibility fixes to markup that Material for MkDocs generates,
 * applied on every page once Material has mounted its components (axe-core:
 * `aria-dialog-name`, `landmark-unique`, `scrollable-region-focusable`;
 * checked by tests/test_browser.py and Lighthouse CI).
 *
 * - The search overlay is a role="dialog" without a name: name it "Search".
 * - Each code block's copy button sits in its own <nav>, so a page with several
 *   code blocks has several unnamed navigation landmarks; a button bar is not
 *   navigation, so those <nav>s are made plain containers.
 * - With navigation.indexes, the label that opens a section holds only an icon,
 *   so it and the section's <nav> (labelled by it) have no name, and on a phone
 *   several such <nav>s are alike: give the label the section's name as text
 *   that only a screen reader reads.
 */
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

  // Material's document$ emits after it has mounted the page's components.
  // Without it, Material's script did not run: undo the classes that
  // docs/overrides/main.html set early on its behalf, so the no-JavaScript
  // styles apply.
  if (!window.document$) {
    document.documentElement.classList.replace("js", "no-js");
    document.documentElement.classList.remove("js-focus-visible");
  }
  // Loaded with `defer` after Material's bundle (extra_javascript in mkdocs.yml): the
  // page is parsed when this runs.
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(fix);
  } else {
    fix();
  }
})();
