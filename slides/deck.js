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

  // The title slide (the lesson's name and objectives) should fit without scrolling: if its
  // text is a little long, make it a little smaller, down to 70 %.
  function fitTitle() {
    var title = Reveal.getSlides()[0];
    var size = 1.0;
    title.style.fontSize = "";
    while (title.scrollHeight > title.clientHeight + 1 && size > 0.72) {
      size -= 0.02;
      title.style.fontSize = size + "em";
    }
  }
  Reveal.on("ready", function () {
    fitTitle();
    document.fonts.ready.then(fitTitle);   // the CJK font arrives later and takes more room
  });
  Reveal.on("slidechanged", function (event) {
    if (event.currentSlide === Reveal.getSlides()[0]) fitTitle();
  });

  Reveal.initialize({
    width: 1280,            // 16:9, the shape of today's projectors
    height: 720,
    margin: 0.03,
    center: false,          // long slides scroll from the top instead of being cut off
    hash: true,             // the address names the slide: reload keeps your place
    slideNumber: "c/t",
    showSlideNumber: "all",
    transition: "slide",
    transitionSpeed: "fast",
    plugins: [RevealNotes],
  });
})();
