// Start a lesson deck: typeset the math with KaTeX, then reveal.js with its speaker view.
// Every file this loads sits in assets/ next to the deck, so it works from a USB stick with
// no network. Copied to build/slides/assets/deck.js by `course slides`.
(function () {
  "use strict";

  var delimiters = [
    { left: "$$", right: "$$", display: true },
    { left: "\\[", right: "\\]", display: true },
    { left: "$", right: "$", display: false },
    { left: "\\(", right: "\\)", display: false },
  ];

  function typeset(element, output, ignoredClasses) {
    renderMathInElement(element, {
      delimiters: delimiters,
      output: output,
      ignoredClasses: ignoredClasses || [],
      throwOnError: true,
      // A formula KaTeX cannot read stays as raw TeX on the slide: say so where the
      // browser tests (and an instructor's developer console) will see it.
      errorCallback: function (message, error) {
        console.error("KaTeX could not typeset a formula: " + message + " " + error);
      },
    });
  }

  // Speaker notes are shown by the speaker view, which has no KaTeX style sheet:
  // give them MathML, which browsers draw by themselves.
  document.querySelectorAll(".reveal aside.notes").forEach(function (notes) {
    typeset(notes, "mathml");
  });
  typeset(document.querySelector(".reveal .slides"), "htmlAndMathml", ["notes"]);

  // A display formula wider than the slide is set a little smaller (down to 70 %) rather
  // than cut off; slides are laid out only when shown, so fit each as it is shown.
  function fitFormulas(slide) {
    if (!slide) return;
    slide.querySelectorAll(".katex-display").forEach(function (display) {
      var size = 1.0;
      display.style.fontSize = "";
      while (display.scrollWidth > display.clientWidth + 1 && size > 0.72) {
        size -= 0.04;
        display.style.fontSize = size + "em";
      }
    });
  }
  Reveal.on("ready", function (event) {
    fitFormulas(event.currentSlide);
    if (Reveal.isPrintView && Reveal.isPrintView()) Reveal.getSlides().forEach(fitFormulas);
  });
  Reveal.on("slidechanged", function (event) { fitFormulas(event.currentSlide); });
  Reveal.on("pdf-ready", function () { Reveal.getSlides().forEach(fitFormulas); });

  // The speaker view is a window reveal.js writes itself, without the course's fonts, and
  // Chromium lets it load no font from a file:// address: give it the glyphs its notes
  // need, inlined by the deck builder (the "course-notes-font" element), so Chinese in the
  // notes is not drawn as boxes.
  var notesFont = document.getElementById("course-notes-font");
  var open = window.open;
  window.open = function () {
    var opened = open.apply(window, arguments);
    if (opened && arguments[1] === "reveal.js - Notes") {
      var addFont = function () {
        var doc = opened.document;
        if (!doc || !doc.head || doc.getElementById("course-cjk")) return;
        var style = doc.createElement("style");
        style.id = "course-cjk";
        style.textContent = (notesFont ? notesFont.textContent : "") +
          "\nbody, .speaker-controls-notes .value { font-family: Helvetica, " +
          "Arial, 'Noto Sans SC Variable', sans-serif; } pre, code { font-family: " +
          "'DejaVu Sans Mono', Menlo, Consolas, 'Noto Sans SC Variable', monospace; }";
        doc.head.appendChild(style);
      };
      // reveal.js writes the window's document right after opening it: add the font once
      // that document is there (checked for a few seconds)
      var tries = 0;
      var timer = setInterval(function () {
        tries += 1;
        try { addFont(); } catch (error) { /* not written yet */ }
        if (tries > 30) clearInterval(timer);
      }, 100);
    }
    return opened;
  };

  Reveal.initialize({
    width: 1280,            // 16:9, the shape of today's projectors
    height: 720,
    margin: 0.03,
    center: false,          // slides fill from the top, as the deck builder measured them
    hash: true,             // the address names the slide: reload keeps your place
    hashOneBasedIndex: true,  // ... as #/7 for slide 7, the number shown on it
    navigationMode: "linear", // right arrow, space, Page Down and a clicker reach every slide
    slideNumber: "c/t",
    showSlideNumber: "all",
    transition: "slide",
    transitionSpeed: "fast",
    pdfMaxPagesPerSlide: 1,   // the handout: one page per slide
    pdfSeparateFragments: false,
    plugins: [RevealNotes],
  });
})();
