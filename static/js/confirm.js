// Every destructive form asks first: <form data-confirm="Remove pool x?">. Without JavaScript the
// server still guards what matters (deleting a cluster needs its name typed).
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
