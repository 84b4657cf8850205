package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Decision: against an in-process server, the clients run in a child
// process (this program again, with --drive-child) unless
// --same-process-client. A real client never shares the server's Go
// scheduler, run queues and garbage collector; in one process the 32 client
// goroutines queued behind the server's on the same two Ps, and the
// process's CPU time could not be split between server and client. With a
// child, the server's CPU time is this process's and the client's is the
// child's (its rusage), both printed, so the throughput floor can be read
// per server CPU-second as well as by the wall clock (the client still
// takes its share of the machine's cores: that is counted, not hidden).

// childStats is what a --drive-child run prints on its standard output.
type childStats struct {
	Sent, OK, Errors, Lost, Dropped int
	Codes                           map[string]int
	LatNS                           []int64
	ElapsedNS                       int64
	CPUNS                           int64
}

// driveChild runs drive in a child process against base with o's load
// options and returns its stats, with st.cpu the child's CPU time (the
// client's) and serverCPU this process's CPU time over the same run.
func driveChild(base string, o options) (st *stats, serverCPU time.Duration, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, 0, err
	}
	args := []string{"--drive-child", "--url", base, "--name", o.name,
		"--clients", strconv.Itoa(o.clients), "--duration", o.duration.String(),
		"--requests", strconv.Itoa(o.requests), "--rows", strconv.Itoa(o.rows),
		"--rate", strconv.FormatFloat(o.rate, 'g', -1, 64), "--binary=" + strconv.FormatBool(o.binary),
		"--std-client=" + strconv.FormatBool(o.stdClient), "--timeout", o.cfg.Timeout.String()}
	cmd := exec.Command(self, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	cpu0 := cpuTime()
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("the client process: %v", err)
	}
	serverCPU = cpuTime() - cpu0
	var cs childStats
	if err := json.Unmarshal(out.Bytes(), &cs); err != nil {
		return nil, 0, fmt.Errorf("the client process's stats: %v", err)
	}
	st = &stats{sent: cs.Sent, ok: cs.OK, errors: cs.Errors, lost: cs.Lost, dropped: cs.Dropped,
		codes: cs.Codes, elapsed: time.Duration(cs.ElapsedNS)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		st.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	st.lat = make([]time.Duration, len(cs.LatNS))
	for i, d := range cs.LatNS {
		st.lat[i] = time.Duration(d)
	}
	return st, serverCPU, nil
}

// childMain is --drive-child: drive the server at o.target and print the
// stats as JSON.
func childMain(o options) error {
	body, header, err := request(o.target, o)
	if err != nil {
		return err
	}
	st := drive(o.target, "/v2/models/"+o.name+"/infer", body, header, o)
	cs := childStats{Sent: st.sent, OK: st.ok, Errors: st.errors, Lost: st.lost, Dropped: st.dropped,
		Codes: st.codes, ElapsedNS: int64(st.elapsed), CPUNS: int64(st.cpu)}
	cs.LatNS = make([]int64, len(st.lat))
	for i, d := range st.lat {
		cs.LatNS[i] = int64(d)
	}
	return json.NewEncoder(os.Stdout).Encode(cs)
}
