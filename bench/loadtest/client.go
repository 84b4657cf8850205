package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawConn is the load generator's HTTP/1.1 client: one kept-alive loopback
// connection that sends a request built once (head and body in one write)
// and reads the status line, the headers and a Content-Length body.
//
// Decision: the load test does not use net/http's client. On a 2-core
// machine the client shares the cores with the server, and net/http's
// client spends about as much CPU per request as the server and allocates
// ~32 KB per request (io.Copy's buffer for the body), whose garbage
// collections the server then pays for too. A lean client, like wrk's,
// leaves the machine to the server under test. --std-client keeps
// net/http's for comparison.
type rawConn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
}

// errNoLength reports a response without Content-Length (every kconv serve
// response has one).
var errNoLength = errors.New("response without Content-Length")

// do sends req (a complete HTTP/1.1 request) and returns the response's
// status code after reading its body. On a transport error the connection
// is closed and the next do dials again.
func (rc *rawConn) do(req []byte, timeout time.Duration) (int, error) {
	if rc.c == nil {
		c, err := net.Dial("tcp", rc.addr)
		if err != nil {
			return 0, err
		}
		rc.c, rc.r = c, bufio.NewReaderSize(c, 16<<10)
	}
	code, keep, err := rc.roundTrip(req, timeout)
	if err != nil || !keep {
		rc.c.Close()
		rc.c = nil
	}
	return code, err
}

func (rc *rawConn) roundTrip(req []byte, timeout time.Duration) (code int, keep bool, err error) {
	rc.c.SetDeadline(time.Now().Add(timeout))
	if _, err := rc.c.Write(req); err != nil {
		return 0, false, err
	}
	line, err := rc.line()
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	code, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length, keep := -1, true
	for {
		h, err := rc.line()
		if err != nil {
			return 0, false, err
		}
		if len(h) == 0 {
			break
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("bad header line %q", h)
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil || length < 0 {
				return 0, false, fmt.Errorf("bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Connection")) && bytes.EqualFold(v, []byte("close")):
			keep = false
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			return 0, false, errNoLength
		}
	}
	if length < 0 {
		return 0, false, errNoLength
	}
	if _, err := rc.r.Discard(length); err != nil {
		return 0, false, err
	}
	return code, keep, nil
}

// line reads one header line without its CRLF.
func (rc *rawConn) line() ([]byte, error) {
	l, err := rc.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, errors.New("response header line too long")
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return bytes.TrimRight(l, "\r\n"), nil
}

func (rc *rawConn) close() {
	if rc.c != nil {
		rc.c.Close()
		rc.c = nil
	}
}

// rawRequest builds the bytes of a POST of body to path on host.
func rawRequest(host, path string, header map[string]string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", path, host, len(body))
	for k, v := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}
