// Narrows a list as the user types: <input data-filter="#list"> hides the list's [data-filter-text]
// items that do not contain the typed text.
document.addEventListener("input", function (event) {
  var selector = event.target.getAttribute && event.target.getAttribute("data-filter");
  if (!selector) return;
  var needle = event.target.value.trim().toLowerCase();
  document.querySelectorAll(selector + " [data-filter-text]").forEach(function (item) {
    item.hidden = needle !== "" && item.getAttribute("data-filter-text").toLowerCase().indexOf(needle) === -1;
  });
});
