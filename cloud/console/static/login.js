// The login page: POST the credentials, then go where the operator was headed (same origin only).

import { ApiError, login } from "./api.js";
import { applyTranslations, bindLangToggle, t } from "./i18n.js";

function nextPath() {
  const next = new URLSearchParams(window.location.search).get("next") || "/console";
  // Only local paths: "/console" yes; "//evil.example" or an absolute URL, no.
  return next.startsWith("/") && !next.startsWith("//") ? next : "/console";
}

function init() {
  applyTranslations();
  bindLangToggle(document.getElementById("lang-toggle"), () => {});
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = form.username.value.trim();
    const password = form.password.value;
    if (!username || !password) {
      error.textContent = t("login.failed");
      error.hidden = false;
      return;
    }
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      await login(username, password);
      window.location.assign(nextPath());
    } catch (err) {
      const known = err instanceof ApiError && [400, 401, 403, 422].includes(err.status);
      error.textContent = known ? t("login.failed") : t("login.error");
      error.hidden = false;
      form.password.select();
    } finally {
      submit.disabled = false;
    }
  });
  form.querySelector("button[type=submit]").disabled = false;  // ready: the handler is attached
}

init();
