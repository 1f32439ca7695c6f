//go:build !linux

package ws

import "errors"

// Parking needs epoll; elsewhere an idle connection keeps its reader
// goroutine, blocked in a read.

var errWouldBlock = errors.New("websocket read would block")

type pollState struct{}

type idlePoller struct{}

func newIdlePoller() *idlePoller { return &idlePoller{} }

func (p *idlePoller) supported() bool { return false }

func (p *idlePoller) park(*socket) bool { return false }

func (p *idlePoller) forget(*socket) {}

func (p *idlePoller) wait() {}

func (s *socket) readNow([]byte) (int, error) { return 0, errWouldBlock }
