// Two users chat through the TellYou web client in headless Chromium.
// Usage: node chat.mjs --base http://127.0.0.1:PORT --chromium /usr/bin/chromium --screenshot out.png
// Exits non-zero, saying which step failed, when the client misbehaves.

import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: opts } = parseArgs({
  options: { base: { type: "string" }, chromium: { type: "string" }, screenshot: { type: "string" } },
});
for (const name of ["base", "chromium", "screenshot"]) {
  if (!opts[name]) throw new Error(`missing --${name}`);
}

// Generous: pushes follow the log, which waits for the oldest write
// transaction on the whole PostgreSQL server, busy with other tests in CI.
const waitMs = 45000;
const started = Date.now();
const step = (what) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${what}`);
const problems = [];

// Playwright gives the browser a fresh temporary --user-data-dir itself (it
// refuses one among the args of launch()), and each context below is a fresh
// profile on top of it.
const browser = await chromium.launch({
  executablePath: opts.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});

/**
 * user opens a page in its own context, with its WebSocket passed through a
 * switch the test can open. Every frame the page sends passes through
 * link.refuse first: when it returns a frame, that frame goes back to the
 * page instead and the real server never sees what the page sent (the test's
 * fake of an overloaded server); link.sends records the send frames that did
 * reach the server.
 */
async function user(name) {
  const context = await browser.newContext({ viewport: { width: 860, height: 600 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(waitMs);
  page.on("pageerror", (err) => problems.push(`${name}: page error: ${err.message}`));
  // expected tells console errors the test itself caused (the browser logs
  // every refused request) from the page's own.
  const u = { name, context, page, expected: () => false };
  page.on("console", (msg) => {
    if (msg.type() === "error" && !u.expected(msg)) problems.push(`${name}: console error: ${msg.text()} (${msg.location().url})`);
  });
  const link = { offline: false, sockets: [], refuse: () => null, sends: [] };
  await page.routeWebSocket(/\/v1\/ws/, (ws) => {
    if (link.offline) {
      ws.close({ code: 4000, reason: "offline" });
      return;
    }
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      const frame = typeof message === "string" ? JSON.parse(message) : null;
      const answer = frame && link.refuse(frame);
      if (answer) {
        ws.send(JSON.stringify(answer));
        return;
      }
      if (frame?.type === "send") link.sends.push(frame);
      server.send(message);
    });
    link.sockets.push({ ws, server });
  });
  link.drop = async () => {
    link.offline = true;
    for (const { ws, server } of link.sockets.splice(0)) {
      await server.close({ code: 4001, reason: "dropped by the test" }).catch(() => {});
      await ws.close({ code: 4001, reason: "dropped by the test" }).catch(() => {});
    }
  };
  link.restore = () => { link.offline = false; };
  return Object.assign(u, { link });
}

async function signIn(u) {
  await u.page.goto(opts.base);
  await u.page.locator("#dev-user").fill(u.name);
  await u.page.locator("#dev-form button[type=submit]").click();
  await u.page.locator("#me-name", { hasText: u.name }).waitFor();
  await online(u);
}

const online = (u) => u.page.locator('#conn-status[data-state="online"]').waitFor();
const sessionItem = (u, id) => u.page.locator(`.session[data-session-id="${id}"]`);
const message = (u, text) => u.page.locator("li.msg", { hasText: text });
const ticks = (u, text, status) => message(u, text).locator(`.ticks[data-status="${status}"]`);

async function send(u, text) {
  await u.page.locator("#composer-text").fill(text);
  await u.page.locator("#composer-text").press("Enter");
  await message(u, text).waitFor();
}

/** wait polls fn in the page until it returns true. */
async function wait(u, what, fn, arg) {
  try {
    await u.page.waitForFunction(fn, arg, { timeout: waitMs });
  } catch (err) {
    throw new Error(`${u.name}: timed out waiting for ${what}: ${err.message.split("\n")[0]}`);
  }
}

/** until polls an async condition in the script until it holds. */
async function until(what, cond) {
  const deadline = Date.now() + waitMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** expectOnce checks that the open conversation holds each text once and seqs without repeats. */
async function expectOnce(u, texts) {
  const view = await u.page.evaluate(() => [...document.querySelectorAll("li.msg")].map((li) => ({
    seq: li.dataset.seq, text: li.querySelector(".text").textContent,
  })));
  const seqs = view.map((m) => m.seq).filter(Boolean);
  if (new Set(seqs).size !== seqs.length) throw new Error(`${u.name}: repeated seqs in the view: ${seqs.join(",")}`);
  for (const text of texts) {
    const n = view.filter((m) => m.text === text).length;
    if (n !== 1) throw new Error(`${u.name}: "${text}" shown ${n} times; view: ${JSON.stringify(view)}`);
  }
  const numbers = seqs.map(Number);
  const contiguous = numbers.every((s, i) => i === 0 || s === numbers[i - 1] + 1);
  if (!contiguous) throw new Error(`${u.name}: seqs out of order or with gaps: ${seqs.join(",")}`);
  return view.length;
}

async function screenshotBoth(a, b, path) {
  const [left, right] = await Promise.all([a.page.screenshot(), b.page.screenshot()]);
  const context = await browser.newContext({ viewport: { width: 1780, height: 660 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const pane = (u, png) => `<figure><figcaption>${u.name}</figcaption><img src="data:image/png;base64,${png.toString("base64")}"></figure>`;
  await page.setContent(`<!doctype html><style>
    body{margin:0;background:#1f2937;display:flex;gap:20px;padding:20px;font:600 14px system-ui,sans-serif;color:#e5e7eb}
    figure{margin:0}figcaption{margin:0 0 6px 4px}img{display:block;border-radius:10px;box-shadow:0 8px 24px #0006}
    </style>${pane(a, left)}${pane(b, right)}`);
  await page.screenshot({ path, fullPage: true });
  await context.close();
}

const alice = await user("alice");
const bob = await user("bob");
const direct = "d:alice:bob";
try {
  step("both users sign in with dev login");
  await Promise.all([signIn(alice), signIn(bob)]);

  step("alice starts a chat with bob and sends the first message");
  await alice.page.locator("#new-chat-user").fill("bob");
  await alice.page.locator("#new-chat button").click();
  await alice.page.locator("#conv-title", { hasText: "bob" }).waitFor();
  await send(alice, "Hi Bob! Are you coming to the launch?");
  await ticks(alice, "Hi Bob!", "sent").or(ticks(alice, "Hi Bob!", "delivered")).waitFor();

  step("bob's list shows the chat with an unread badge while it is not open");
  await sessionItem(bob, direct).locator(".badge", { hasText: "1" }).waitFor();
  step("alice sees the message delivered (bob's client acked it received)");
  await ticks(alice, "Hi Bob!", "delivered").waitFor();

  step("bob opens the chat: the badge clears and alice sees it read");
  await sessionItem(bob, direct).click();
  await message(bob, "Hi Bob!").waitFor();
  await sessionItem(bob, direct).locator(".badge").waitFor({ state: "detached" });
  await ticks(alice, "Hi Bob!", "read").waitFor();

  step("bob types: alice sees the typing indicator");
  await bob.page.locator("#composer-text").pressSequentially("Yes, I'll be", { delay: 40 });
  await alice.page.locator("#typing", { hasText: "bob is typing" }).waitFor();
  await bob.page.locator("#composer-text").fill("Yes, I'll be there at nine.");
  await bob.page.locator("#composer-text").press("Enter");
  await message(alice, "I'll be there at nine").waitFor();
  await alice.page.locator("#typing", { hasText: "typing" }).waitFor({ state: "detached" }).catch(() => {});
  await wait(alice, "the typing indicator to clear", () => document.getElementById("typing").textContent === "");
  step("alice has the chat open, so bob sees his message read");
  await ticks(bob, "there at nine", "read").waitFor();

  await send(alice, "Great, see you there!");
  await ticks(alice, "see you there", "read").waitFor();
  await send(bob, "Bringing the slides.");
  await ticks(bob, "Bringing the slides", "read").waitFor();

  step("screenshot of both users' chat with their ticks, bob typing");
  await bob.page.locator("#composer-text").pressSequentially("Do we need", { delay: 40 });
  await alice.page.locator("#typing", { hasText: "bob is typing" }).waitFor();
  await screenshotBoth(alice, bob, opts.screenshot);
  await bob.page.locator("#composer-text").fill("");

  step("alice recalls a message: both see it recalled");
  await send(alice, "Oops, wrong chat");
  await message(bob, "Oops, wrong chat").waitFor();
  await message(alice, "Oops, wrong chat").locator("button.recall").click();
  await message(alice, "You recalled this message").waitFor();
  await message(bob, "Message recalled").waitFor();
  await wait(bob, "the recalled text to disappear", () => !document.getElementById("messages").textContent.includes("Oops"));

  step("alice creates a group with bob and carol");
  await alice.page.locator("#new-group-box summary").click();
  await alice.page.locator("#group-title").fill("Launch team");
  await alice.page.locator("#group-members").fill("bob, carol");
  await alice.page.locator("#new-group button").click();
  await alice.page.locator("#conv-title", { hasText: "Launch team" }).waitFor();
  await alice.page.locator("#conv-sub", { hasText: "3 members" }).waitFor();
  await send(alice, "Welcome to the launch team!");
  const group = await alice.page.locator('.session[aria-current="true"]').getAttribute("data-session-id");
  if (!group?.startsWith("g:")) throw new Error(`the open session after creating a group is ${group}`);
  step("bob sees the group with an unread badge, opens it and sees alice's message");
  await sessionItem(bob, group).locator(".name", { hasText: "Launch team" }).waitFor();
  await sessionItem(bob, group).locator(".badge", { hasText: "1" }).waitFor();
  await sessionItem(bob, group).click();
  await message(bob, "Welcome to the launch team!").locator(".sender", { hasText: "alice" }).waitFor();
  await sessionItem(bob, group).locator(".badge").waitFor({ state: "detached" });
  // Group ticks need every other member: carol has never been online.
  await ticks(alice, "Welcome to the launch team", "sent").waitFor();

  step("bob goes back to the direct chat and loses his connection");
  await sessionItem(bob, direct).click();
  await message(bob, "Bringing the slides").waitFor();
  await bob.link.drop();
  await bob.page.locator('#conn-status[data-state="offline"]').waitFor();

  step("alice writes while bob is away");
  await sessionItem(alice, direct).click();
  await send(alice, "Are you still there?");
  await send(alice, "Ping number two");
  await ticks(alice, "Ping number two", "sent").waitFor();

  step("alice goes offline too: her next message stays pending");
  await alice.link.drop();
  await alice.page.locator('#conn-status[data-state="offline"]').waitFor();
  await send(alice, "Written while offline");
  await ticks(alice, "Written while offline", "pending").waitFor();

  step("bob reconnects and syncs what he missed, once");
  bob.link.restore();
  await online(bob);
  await message(bob, "Ping number two").waitFor();
  await expectOnce(bob, ["Are you still there?", "Ping number two", "Bringing the slides."]);

  step("alice reconnects: her pending message is sent, bob gets it and reads it");
  alice.link.restore();
  await online(alice);
  await message(bob, "Written while offline").waitFor();
  await ticks(alice, "Written while offline", "read").waitFor();
  const texts = ["Hi Bob! Are you coming to the launch?", "Yes, I'll be there at nine.", "Great, see you there!",
    "Bringing the slides.", "Are you still there?", "Ping number two", "Written while offline"];
  const shownBob = await expectOnce(bob, texts);
  const shownAlice = await expectOnce(alice, texts);
  if (shownBob !== texts.length + 1 || shownAlice !== shownBob) {
    throw new Error(`views hold ${shownAlice} (alice) and ${shownBob} (bob) messages, want ${texts.length + 1} (one recalled)`);
  }

  step("bob reloads the page: still signed in, same history, no repeats, recall kept");
  await bob.page.reload();
  await online(bob);
  await sessionItem(bob, direct).click();
  await message(bob, "Written while offline").waitFor();
  await message(bob, "Message recalled").waitFor();
  if ((await expectOnce(bob, texts)) !== texts.length + 1) throw new Error("bob's view after reload differs");
  await ticks(bob, "Bringing the slides", "read").waitFor();

  step("the server refuses alice's send as overloaded (a fake in her socket's route): it stays pending, goes once after the wait, before the next");
  const busyText = "Sent while the server was busy";
  const afterText = "Written just after it";
  const refusals = [];
  alice.link.sends.length = 0;
  alice.link.refuse = (f) => {
    // Five refusals at 1 s each: long enough for the client's quiet note.
    if (f.type !== "send" || f.content !== busyText || refusals.length === 5) return null;
    refusals.push({ id: f.id, clientMessageId: f.clientMessageId, at: Date.now() });
    return { type: "error", id: f.id, clientMessageId: f.clientMessageId, code: "overloaded",
      message: "the server is overloaded: nothing was stored; retry after retryAfterMs", retryAfterMs: 1000 };
  };
  await alice.page.evaluate(() => {
    // Refused is not failed: no message may show as failed meanwhile.
    window.failedShown = false;
    new MutationObserver(() => {
      if (document.querySelector('.ticks[data-status="failed"]')) window.failedShown = true;
    }).observe(document.getElementById("messages"), { childList: true, subtree: true, attributes: true });
  });
  await send(alice, busyText);
  await until("the first overloaded answer", async () => refusals.length >= 1);
  await send(alice, afterText);
  const overtaken = () => {
    if (alice.link.sends.length) throw new Error(`sends reached the server while the first was refused: ${JSON.stringify(alice.link.sends)}`);
  };
  await until("the refused send to go again (and be refused again)", async () => refusals.length >= 2);
  overtaken();
  await ticks(alice, busyText, "pending").waitFor();
  await ticks(alice, afterText, "pending").waitFor();
  step("alice's status notes the busy server once it lasts; the later message waits behind the refused one");
  await alice.page.locator('#conn-status[data-busy="true"]', { hasText: "server busy" }).waitFor();
  overtaken();
  await ticks(alice, afterText, "read").waitFor();
  await alice.page.locator('#conn-status[data-busy="false"]', { hasText: "online" }).waitFor();
  const sentTexts = alice.link.sends.map((f) => f.content);
  if (sentTexts.join("|") !== `${busyText}|${afterText}`) throw new Error(`the server got the sends ${JSON.stringify(sentTexts)}, want each once, in order`);
  const taken = alice.link.sends[0];
  if (refusals.length !== 5 || refusals.some((r) => r.id !== taken.id || r.clientMessageId !== taken.clientMessageId)) {
    throw new Error(`the refused frame was not sent again as it was: refused ${JSON.stringify(refusals)}, taken ${JSON.stringify(taken)}`);
  }
  const gaps = refusals.slice(1).map((r, i) => r.at - refusals[i].at);
  if (gaps.some((ms) => ms < 1000)) throw new Error(`resent sooner than retryAfterMs: ${gaps.join(", ")} ms apart`);
  if (await alice.page.evaluate(() => window.failedShown)) throw new Error("a refused message showed as failed");
  if (!(await alice.page.locator("#toast").isHidden())) throw new Error(`alice saw a notice: ${await alice.page.locator("#toast").textContent()}`);
  alice.link.refuse = () => null;
  await message(bob, afterText).waitFor();
  const busyTexts = [...texts, busyText, afterText];
  for (const u of [alice, bob]) {
    if ((await expectOnce(u, busyTexts)) !== busyTexts.length + 1) throw new Error(`${u.name}'s view after the busy server differs`);
    const order = await u.page.evaluate(() => [...document.querySelectorAll("li.msg .text")].map((t) => t.textContent).slice(-2));
    if (order.join("|") !== `${busyText}|${afterText}`) throw new Error(`${u.name} shows the last two messages as ${JSON.stringify(order)}`);
  }

  step("alice fills the group with notes; bob pages back through its history");
  await sessionItem(alice, group).click();
  await alice.page.locator("#conv-title", { hasText: "Launch team" }).waitFor();
  const notes = Array.from({ length: 34 }, (_, i) => `Note ${i + 1} of 34`);
  for (const note of notes) {
    await alice.page.locator("#composer-text").fill(note);
    await alice.page.locator("#composer-text").press("Enter");
  }
  await ticks(alice, "Note 34 of 34", "sent").waitFor();
  // Once bob's client has acked them received, a fresh page has no reason to
  // fetch them before the group is opened, and shows them a page at a time.
  await bob.page.locator(".session .preview", { hasText: "Note 34 of 34" }).waitFor();
  await until("bob's client to ack every note as received", async () => {
    const { sessions } = await bob.page.evaluate(async () => {
      const token = sessionStorage.getItem("tellyou.token");
      return (await fetch("/v1/sessions", { headers: { Authorization: `Bearer ${token}` } })).json();
    });
    const entry = sessions.find((s) => s.sessionId === group);
    return entry?.lastSeq === notes.length + 1 && entry.receivedSeq === entry.lastSeq;
  });
  await bob.page.reload();
  await online(bob);
  await sessionItem(bob, group).locator(".preview", { hasText: "Note 34 of 34" }).waitFor();
  await sessionItem(bob, group).click();
  await message(bob, "Note 34 of 34").waitFor();
  const firstPage = await bob.page.locator("li.msg").count();
  if (firstPage >= notes.length + 1) throw new Error(`bob's first page holds all ${firstPage} messages: no paging`);
  // A fake of an overloaded server: the first request for the older page is
  // answered 503 overloaded as the server would; the client asks again.
  const olderPages = [];
  const olderPath = /\/v1\/sessions\/[^/]+\/messages\?beforeSeq=/;
  bob.expected = (msg) => msg.text().includes("status of 503") && olderPath.test(msg.location().url);
  await bob.page.route(olderPath, (route) => {
    olderPages.push(Date.now());
    if (olderPages.length > 1) return route.continue();
    return route.fulfill({ status: 503, headers: { "Retry-After": "1" }, contentType: "application/json",
      body: JSON.stringify({ code: "overloaded", message: "the server is overloaded: nothing was stored; retry after retryAfterMs", retryAfterMs: 300 }) });
  });
  await bob.page.locator("#load-older").click();
  await message(bob, "Welcome to the launch team!").waitFor();
  await bob.page.locator("#load-older").waitFor({ state: "hidden" });
  if (olderPages.length !== 2 || olderPages[1] - olderPages[0] < 300) {
    throw new Error(`the older page was asked for ${olderPages.length} times, ${olderPages[1] - olderPages[0]} ms apart; want twice, 300 ms or more apart`);
  }
  if (!(await bob.page.locator("#toast").isHidden())) throw new Error(`bob saw a notice: ${await bob.page.locator("#toast").textContent()}`);
  if ((await expectOnce(bob, ["Welcome to the launch team!", ...notes])) !== notes.length + 1) {
    throw new Error("bob's group history after paging back is not the whole history");
  }

  step("bob reacts to alice's last note: alice sees the reaction, and it counts bob once");
  const lastNote = "Note 34 of 34";
  await message(bob, lastNote).locator('button.react[data-emoji="👍"]').click();
  await message(alice, lastNote).locator('.reaction[data-emoji="👍"]', { hasText: "👍 1" }).waitFor();
  await message(bob, lastNote).locator('.reaction[data-emoji="👍"][aria-pressed="true"]').waitFor();

  step("bob replies to it: alice sees his answer quoting her note");
  await message(bob, lastNote).locator("button.reply").click();
  await bob.page.locator("#composing", { hasText: "Replying to alice" }).waitFor();
  await send(bob, "Got all of them");
  await message(alice, "Got all of them").locator(".reply-quote", { hasText: `alice: ${lastNote}` }).waitFor();

  step("alice edits a note: bob sees the new text, marked edited, and the old one nowhere");
  await message(alice, "Note 33 of 34").locator("button.edit").click();
  await alice.page.locator("#composing", { hasText: "Editing" }).waitFor();
  await alice.page.locator("#composer-text").fill("Note 33, corrected");
  await alice.page.locator("#composer-text").press("Enter");
  await message(bob, "Note 33, corrected").locator(".edited").waitFor();
  await wait(bob, "the old text to go", () => !document.getElementById("messages").textContent.includes("Note 33 of 34"));

  step("bob has the group open: alice's note shows read by 1 (carol never came), also after a reload that forgets every receipt");
  await message(alice, lastNote).locator(".readby", { hasText: "read by 1" }).waitFor();
  await alice.page.evaluate(() => sessionStorage.removeItem("tellyou.receipts.alice"));
  await alice.page.reload();
  await online(alice);
  await sessionItem(alice, group).click();
  await message(alice, lastNote).locator(".readby", { hasText: "read by 1" }).waitFor();
  await message(alice, "Got all of them").locator(".reply-quote", { hasText: lastNote }).waitFor();
  await message(alice, lastNote).locator('.reaction[data-emoji="👍"]', { hasText: "👍 1" }).waitFor();
  await message(alice, "Note 33, corrected").locator(".edited").waitFor();

  step("bob searches for the corrected note and finds it highlighted");
  await bob.page.locator("#search-q").fill("corrected");
  // The search read model follows the log like every projection: ask again until it has caught up.
  const hit = bob.page.locator(`#search-results .hit[data-session-id="${group}"] mark`, { hasText: "corrected" });
  await until("a search hit for the corrected note", async () => {
    await bob.page.locator("#search-form button").click();
    await bob.page.locator("#search-results .hit-head").waitFor();
    return (await hit.count()) > 0;
  });
  await hit.click();
  await bob.page.locator("#conv-title", { hasText: "Launch team" }).waitFor();

  if (problems.length) throw new Error(`the pages reported errors:\n${problems.join("\n")}`);
  step("all steps passed");
} catch (err) {
  console.error(`FAILED: ${err.message}`);
  if (problems.length) console.error(problems.join("\n"));
  for (const u of [alice, bob]) {
    const shot = opts.screenshot.replace(/\.png$/, `-failure-${u.name}.png`);
    await u.page.screenshot({ path: shot }).catch(() => {});
    console.error(`${u.name}'s page at the failure: ${shot}`);
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
