// Package e2e drives the web client in a real browser against a real server:
// browser_test.go builds and starts `tellyou serve` with dev login on, then
// runs chat.mjs (Playwright over Debian's Chromium), in which two users sign
// in, chat, see their ticks, recall, type, make a group, reconnect and page
// back through history. The server cannot be overloaded on demand, so the
// script fakes its `overloaded` answers in the page's routes (one WebSocket
// send refused five times, one HTTP page answered 503) and checks that the
// client sends again after the wait, once, in order, without alarming anyone.
//
// It needs node, the packages of package-lock.json (`npm ci` here) and
// Chromium at /usr/bin/chromium (`apt-get install -y chromium`); .ci/run
// installs both. The screenshot of the two users' chat is written to
// e2e/screenshots/chat.png; with TELLYOU_E2E_UPDATE_DOCS=1 the test also copies
// it to docs/webclient.png.
package e2e
