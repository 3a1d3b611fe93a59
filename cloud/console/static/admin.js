// Account management (admins): list, create, enable/disable; roles and street scope.

import { accounts, ApiError, createAccount, requireLogin, streets, updateAccount } from "./api.js";
import { h } from "./dom.js";
import { applyTranslations, bindLangToggle, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

function showError(error) {
  $("admin-error").textContent = error instanceof ApiError ? error.message : String(error);
  $("admin-error").classList.add("shown");
}

async function load() {
  const rows = await accounts();
  $("accounts").replaceChildren(
    ...rows.map((account) => {
      const toggle = h("input", { type: "checkbox", checked: account.active, "aria-label": `${t("admin.active")} ${account.username}` });
      toggle.addEventListener("change", async () => {
        try {
          await updateAccount(account.id, { active: toggle.checked });
        } catch (error) {
          showError(error);
          toggle.checked = !toggle.checked;
        }
      });
      return h(
        "tr",
        { dataset: { username: account.username } },
        h("td", { class: "mono" }, account.username),
        h("td", {}, account.display_name),
        h("td", {}, account.role),
        h("td", {}, account.all_streets ? t("admin.allStreets") : account.streets.join(", ")),
        h("td", {}, toggle),
      );
    }),
  );
}

async function init() {
  applyTranslations();
  const me = await requireLogin();
  if (me === null) return;
  bindLangToggle($("lang-toggle"), load);
  const boxes = $("street-boxes");
  for (const street of await streets()) {
    boxes.append(h("label", {}, h("input", { type: "checkbox", name: "streets", value: street.code }), ` ${street.name_zh}`));
  }
  $("new-account").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      await createAccount({
        username: form.get("username"),
        display_name: form.get("display_name"),
        role: form.get("role"),
        password: form.get("password"),
        all_streets: form.get("all_streets") === "on",
        streets: form.getAll("streets"),
      });
      event.target.reset();
      $("admin-error").classList.remove("shown");
      await load();
    } catch (error) {
      showError(error);
    }
  });
  try {
    await load();
  } catch (error) {
    showError(error);
  }
}

init();
