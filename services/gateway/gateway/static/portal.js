// The portal works without this file; with it, file inputs speak Vietnamese whatever the browser's language,
// and a form sends once (the form's idempotency key already makes a second send harmless).
"use strict";
document.documentElement.classList.add("js");
for (const input of document.querySelectorAll("input[type=file]")) {
  const chosen = document.getElementById(input.id + "-chosen");
  if (!chosen) continue;
  const show = () => {
    const names = Array.from(input.files, (file) => file.name);
    chosen.textContent = names.length ? "Đã chọn: " + names.join(", ") : "Chưa chọn tệp nào";
  };
  input.addEventListener("change", show);
  show();
}
for (const form of document.querySelectorAll("form[data-once]")) {
  form.addEventListener("submit", (event) => {
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    for (const button of form.querySelectorAll("button[type=submit]")) button.setAttribute("aria-busy", "true");
  });
}
