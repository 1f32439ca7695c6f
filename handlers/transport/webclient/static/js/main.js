// Start-up: sign in (a pasted token, or a user name when the server offers dev
// login), then run the chat over one reconnecting WebSocket.

import { Api, request } from "./api.js";
import { Busy } from "./busy.js";
import { Chat } from "./chat.js";
import { Connection } from "./connection.js";
import { View } from "./view.js";

const $ = (id) => document.getElementById(id);
const store = window.sessionStorage; // per tab: two tabs may be two users
const tokenKey = "tellyou.token";
const devUserKey = "tellyou.devUser";

/** claims reads a JWT's payload (the server checks the signature, not us). */
function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return null;
  }
}

function usable(token) {
  const c = token && claims(token);
  return c && typeof c.sub === "string" && typeof c.exp === "number" && c.exp * 1000 > Date.now() + 5000;
}

async function mintDevToken(user) {
  const answer = await request("POST", "/v1/dev/token", { body: { user } });
  store.setItem(tokenKey, answer.token);
  store.setItem(devUserKey, answer.user);
  return answer.token;
}

function showSignIn(config, message = "") {
  $("app").hidden = true;
  $("signin").hidden = false;
  $("dev-form").hidden = !config.devLogin;
  $("signin-error").textContent = message;
  ($("dev-form").hidden ? $("token") : $("dev-user")).focus();
}

function signOut(config, message) {
  store.removeItem(tokenKey);
  store.removeItem(devUserKey);
  // A full reload drops every timer and socket of the old user.
  if (message) store.setItem("tellyou.notice", message);
  location.reload();
}

function bindSignIn(config) {
  $("dev-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await mintDevToken($("dev-user").value.trim());
      startChat(config);
    } catch (err) {
      $("signin-error").textContent = err.message;
    }
  });
  $("token-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = $("token").value.trim();
    if (!usable(token)) {
      $("signin-error").textContent = "That is not a valid, unexpired token.";
      return;
    }
    try {
      await request("GET", "/v1/sessions", { token });
    } catch (err) {
      $("signin-error").textContent = err.message;
      return;
    }
    store.setItem(tokenKey, token);
    store.removeItem(devUserKey);
    startChat(config);
  });
}

function startChat(config) {
  const token = () => store.getItem(tokenKey);
  const me = claims(token()).sub;
  const devUser = store.getItem(devUserKey);
  $("signin").hidden = true;
  $("app").hidden = false;
  $("me-name").textContent = me;
  $("me-avatar").textContent = me[0];

  let view;
  const busy = new Busy((shown) => view.busy(shown));
  const api = new Api(token, () => signOut(config, "Your sign-in is no longer valid."), busy);
  const wsUrl = () => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/ws?token=${encodeURIComponent(token())}`;
  const connection = new Connection(wsUrl, {
    onOpen: () => chat.resync(),
    onFrame: (f) => chat.handleFrame(f),
    onStatus: (state, text) => view.status(state, text),
    onClose: (code) => {
      if (usable(token()) && code !== 1008) return true;
      if (devUser) {
        mintDevToken(devUser).catch((err) => view.notice(err.message));
        return true;
      }
      signOut(config, "Your token expired: sign in again.");
      return false;
    },
  }, busy);
  const chat = new Chat({
    me, api, connection, recallWindowMs: config.recallWindowMs, editWindowMs: config.editWindowMs, storage: store,
    onChange: () => view.update(), onNotice: (text) => view.notice(text),
  });
  view = new View(chat);
  bindChat(chat, view, config);
  if (devUser) keepDevTokenFresh(devUser, token, view);
  connection.start();
  view.update();
  // Recall buttons expire and typing notices fade even when nothing arrives.
  setInterval(() => view.update(), 5000);
  document.addEventListener("visibilitychange", () => { if (chat.current) chat.scheduleAck(chat.current); });
}

/** keepDevTokenFresh asks for a new dev token a minute before the current one expires. */
function keepDevTokenFresh(user, token, view) {
  const expiresAt = claims(token()).exp * 1000;
  setTimeout(async () => {
    try {
      await mintDevToken(user);
    } catch (err) {
      view.notice(`Could not renew the sign-in: ${err.message}`);
    }
    keepDevTokenFresh(user, token, view);
  }, Math.max(5000, expiresAt - Date.now() - 60000));
}

function bindChat(chat, view, config) {
  $("sign-out").addEventListener("click", () => signOut(config));
  $("new-chat").addEventListener("submit", (ev) => {
    ev.preventDefault();
    try {
      chat.startDirect($("new-chat-user").value.trim());
      $("new-chat-user").value = "";
      $("composer-text").focus();
    } catch (err) {
      view.notice(err.message);
    }
  });
  $("new-group").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const members = $("group-members").value.split(/[\s,]+/).filter(Boolean);
    try {
      await chat.createGroup($("group-title").value.trim(), members);
      $("group-title").value = "";
      $("group-members").value = "";
      $("new-group-box").open = false;
    } catch (err) {
      view.notice(err.message);
    }
  });
  const text = $("composer-text");
  const send = () => {
    const s = chat.current;
    const content = text.value.trim();
    if (!s || !content) return;
    view.sent();
    chat.send(s, content);
    text.value = "";
  };
  $("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    send();
  });
  text.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      send();
    }
  });
  text.addEventListener("input", () => { if (chat.current && text.value) chat.typed(chat.current); });
  text.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && chat.composing) {
      if (chat.composing.mode === "edit") text.value = "";
      chat.compose(null);
    }
  });
  $("search-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await chat.search($("search-q").value.trim());
    } catch (err) {
      view.notice(`Search failed: ${err.message}`);
    }
  });
}

async function main() {
  const config = await request("GET", "/web/config.json");
  bindSignIn(config);
  const notice = store.getItem("tellyou.notice") ?? "";
  store.removeItem("tellyou.notice");
  if (usable(store.getItem(tokenKey))) startChat(config);
  else if (store.getItem(devUserKey)) {
    try {
      await mintDevToken(store.getItem(devUserKey));
      startChat(config);
    } catch (err) {
      showSignIn(config, err.message);
    }
  } else showSignIn(config, notice);
}

main().catch((err) => {
  document.body.textContent = `TellYou could not start: ${err.message}`;
});
