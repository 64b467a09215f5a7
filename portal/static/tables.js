// Wide tables (docs/architecture.md, "Polish input and output"): a table wider than its box gets
// the class "overflows", which shows the box's data-hint ("przewiń tabelę →", translated by the
// template). Only a class is set: no text, no HTML. Loaded as a file; the CSP allows no inline script.
(function () {
  "use strict";
  function mark() {
    var boxes = document.querySelectorAll(".table-scroll");
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].classList.toggle("overflows", boxes[i].scrollWidth > boxes[i].clientWidth + 1);
    }
  }
  document.addEventListener("DOMContentLoaded", mark);
  window.addEventListener("resize", mark);
})();
