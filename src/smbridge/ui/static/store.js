// The store board polls its rows every few seconds; it waits while a person is choosing a
// picker or typing in a row's form, so that a refresh never resets their choice.
window.smbBoardIdle = function () {
  var rows = document.getElementById("board-rows");
  return !rows || !rows.contains(document.activeElement);
};

// The entry screen: a scanner types the line's barcode and presses Enter. Enter in the code
// field moves on to the weight (a weighed line) or the quantity instead of sending the form
// at once; Enter there sends it. Without JavaScript the form still works (blank quantity:
// as ordered).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector('form[data-test="entry-form"]');
  if (!form) return;
  var weighed = (form.getAttribute("data-weighed") || "").split(" ");
  form.elements.code.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    event.preventDefault();
    var code = form.elements.code.value.trim();
    var next = weighed.indexOf(code) >= 0 ? form.elements.weight_grams : form.elements.quantity;
    next.focus();
    next.select();
  });
});
