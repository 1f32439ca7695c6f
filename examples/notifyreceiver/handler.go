package main

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tellyou/tellyou/handlers/notify"
)

// maxBody bounds a notification's body; TellYou's are a few hundred bytes.
const maxBody = 64 << 10

// maxSeen is how many webhook ids are remembered to drop repeats; a real
// gateway keeps them for as long as the sender retries (hours).
const maxSeen = 10000

// handler verifies and takes in notifications; deliver is called once per
// webhook-id. It is safe for concurrent use.
type handler struct {
	wh      *standardwebhooks.Webhook
	deliver func(notify.Notification)

	mu   sync.Mutex
	seen map[string]bool
}

func newHandler(wh *standardwebhooks.Webhook, deliver func(notify.Notification)) *handler {
	return &handler{wh: wh, deliver: deliver, seen: make(map[string]bool)}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "unreadable or too large body", http.StatusBadRequest)
		return
	}
	// Verify checks the signature over id, timestamp and body, and refuses
	// a timestamp more than 5 minutes away: a captured request replayed
	// later fails.
	if err := h.wh.Verify(body, r.Header); err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var n notify.Notification
	if err := json.Unmarshal(body, &n); err != nil {
		http.Error(w, "bad notification", http.StatusBadRequest)
		return
	}
	id := r.Header.Get(standardwebhooks.HeaderWebhookID)
	h.mu.Lock()
	repeat := h.seen[id]
	if !repeat {
		if len(h.seen) >= maxSeen {
			clear(h.seen)
		}
		h.seen[id] = true
	}
	h.mu.Unlock()
	if !repeat {
		h.deliver(n)
	}
	w.WriteHeader(http.StatusNoContent)
}
