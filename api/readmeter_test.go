package api

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair is a real loopback connection: the server's end and the client's.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	return server, client
}

// A metered socket read with raw system calls behaves as net.Conn.Read:
// it waits for bytes, honours the read deadline with a timeout error,
// reports the peer's close as io.EOF and its own close as net.ErrClosed.
func TestReadMeterRawReads(t *testing.T) {
	server, client := tcpPair(t)
	m := newReadMeter(server)
	if m.fd == nil {
		t.Fatal("a TCP connection's socket is not found")
	}
	buf := make([]byte, 8)

	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = client.Write([]byte("hello"))
	}()
	if n, err := m.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v; want hello", buf[:n], err)
	}
	if m.read != 5 {
		t.Fatalf("metered %d bytes, want 5", m.read)
	}

	_ = m.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	var ne net.Error
	if _, err := m.Read(buf); !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	_ = m.SetReadDeadline(time.Time{})

	_ = client.Close()
	if n, err := m.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer closed: %d, %v; want io.EOF", n, err)
	}

	other, _ := tcpPair(t)
	m = newReadMeter(other)
	go func() {
		time.Sleep(20 * time.Millisecond)
		_ = m.Close()
	}()
	if _, err := m.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read while closed: %v, want net.ErrClosed", err)
	}
}

// A connection that buffers what it read is read through its methods, not
// its socket: the buffered bytes come first.
func TestReadMeterWrapperKeepsItsBuffer(t *testing.T) {
	server, client := tcpPair(t)
	m := newReadMeter(&earlyConn{Conn: server, early: []byte("early ")})
	if m.fd != nil {
		t.Fatal("a buffering wrapper's socket is read directly")
	}
	if _, err := m.SyscallConn(); err == nil {
		t.Fatal("a buffering wrapper's socket is written directly")
	}
	if _, err := client.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 16)
	for len(got) < len("early late") {
		n, err := m.Read(buf)
		if err != nil {
			t.Fatalf("read %q, then %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "early late" {
		t.Fatalf("read %q, want %q", got, "early late")
	}
}
