package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The lean client must send what net/http's server reads as the request,
// read every response whole (so the next one on the connection parses), see
// the status, and redial after the server closes the connection.
func TestRawConn(t *testing.T) {
	var conns, requests atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.Method != "POST" || r.URL.Path != "/v2/models/m/infer" || string(body) != "payload" || r.Header.Get("X-Test") != "yes" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if n == 3 {
			w.Header().Set("Connection", "close")
		}
		body = []byte(strings.Repeat("x", 20000)) // larger than the reader's buffer
		if n != 6 {
			// kconv serve always sends a Content-Length; response 6 is
			// chunked, which the client must refuse, not misread.
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		if n == 4 {
			w.WriteHeader(http.StatusTooManyRequests)
		}
		w.Write(body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	req := rawRequest(u.Host, "/v2/models/m/infer", map[string]string{"X-Test": "yes"}, []byte("payload"))
	rc := &rawConn{addr: u.Host}
	defer rc.close()
	want := []int{200, 200, 200, 429, 200}
	for i, w := range want {
		code, err := rc.do(req, 5*time.Second)
		if err != nil || code != w {
			t.Fatalf("request %d: %d %v, want %d", i+1, code, err, w)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (one closed by the server after request 3)", n)
	}
	if _, err := rc.do(req, 5*time.Second); err != errNoLength {
		t.Fatalf("chunked response: %v, want %v", err, errNoLength)
	}
}
