package api

import (
	"errors"
	"log/slog"
	"net"
	"syscall"
	"time"
)

// retryListener keeps accepting when the process runs out of file
// descriptors: fasthttp would stop serving on EMFILE, while the right
// answer is to wait for sockets to close and carry on.
type retryListener struct {
	net.Listener
	log      *slog.Logger
	lastWarn time.Time
}

func (l *retryListener) Accept() (net.Conn, error) {
	delay := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err == nil || !(errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)) {
			return c, err
		}
		if time.Since(l.lastWarn) > 10*time.Second {
			l.lastWarn = time.Now()
			l.log.Warn("out of file descriptors: new connections wait; lower --max-conns or raise the open-file limit", "err", err)
		}
		time.Sleep(delay)
		delay = min(2*delay, time.Second)
	}
}
