package loadgen

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// sourceClients returns one HTTP client per loopback source address
// 127.0.0.(offset+1) ... 127.0.0.(offset+n): each source has its own range
// of ephemeral ports towards the server's one address and port.
func sourceClients(n, offset int) []*http.Client {
	clients := make([]*http.Client, n)
	for i := range clients {
		dialer := &net.Dialer{Timeout: 30 * time.Second,
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(offset+1+i))}}
		clients[i] = &http.Client{Transport: &http.Transport{
			DialContext:         dialer.DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		}}
	}
	return clients
}

// tokens mints a day's token per user.
type tokens struct {
	secret []byte
	now    time.Time
}

func (t tokens) of(user string) (string, error) {
	tok, err := auth.Mint(t.secret, auth.Principal{UserID: user, Device: "bench"}, t.now, 24*time.Hour)
	if err != nil {
		return "", fmt.Errorf("mint a token for %s: %w", user, err)
	}
	return tok, nil
}
