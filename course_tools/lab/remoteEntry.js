// The course's JupyterLab extension "course-lab-style", prebuilt by hand (no build step, nothing
// fetched): a module-federation container with one style module that adds course.css, the
// file next to this one (the bundled Chinese font and the glossary highlight), to the page.
// Installed into the course's environment by course_tools/lab_style.py (`course lab`).
(function () {
  "use strict";
  var script = document.currentScript;
  var here = script && script.src ? script.src : "";
  var NAME = "course-lab-style";

  function addStyle() {
    if (document.querySelector("link[data-course-lab-style]")) {
      return;
    }
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = new URL("course.css", here || document.baseURI).href;
    link.setAttribute("data-course-lab-style", "");
    document.head.appendChild(link);
  }

  // JupyterLab shows a linked Markdown file (the glossary) without changing the page's
  // address, so CSS :target never matches there: mark the glossary row a link lands on with
  // the class course-target instead (course.css styles both the same way).
  function markTarget(event) {
    var link = event.target && event.target.closest ? event.target.closest("a[href]") : null;
    if (!link) {
      return;
    }
    var href = link.getAttribute("href") || "";
    var hash = href.indexOf("#");
    if (hash < 0 || href.indexOf("GLOSSARY") < 0) {
      return;
    }
    var id = decodeURIComponent(href.slice(hash + 1));
    var tries = 0;
    var timer = setInterval(function () {
      tries += 1;
      // JupyterLab's sanitizer turns an element's id into data-jupyter-id
      var name = id.replace(/['"\\]/g, "");
      var found = document.querySelectorAll(".jp-RenderedMarkdown [data-jupyter-id='" + name +
                                            "'], .jp-RenderedMarkdown [id='" + name + "']");
      if (found.length || tries > 100) {
        clearInterval(timer);
        document.querySelectorAll(".course-target").forEach(function (el) {
          el.classList.remove("course-target");
        });
        found.forEach(function (el) {
          var row = el.closest("tr") || el;
          row.classList.add("course-target");
        });
      }
    }, 100);
  }

  window._JUPYTERLAB = window._JUPYTERLAB || {};
  window._JUPYTERLAB[NAME] = {
    init: function () {
      return Promise.resolve();
    },
    get: function (module) {
      return Promise.resolve(function () {
        if (module === "./style") {
          addStyle();
          document.addEventListener("click", markTarget, true);
        }
        return {};
      });
    }
  };
})();
