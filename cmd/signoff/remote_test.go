package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	stdsync "sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/signoff-dev/signoff/sync/s3test"
)

// Script commands for remotes: a real S3 server, ports, HTTP.

var (
	s3mu      stdsync.Mutex
	s3servers = map[*testscript.TestScript]*s3test.Server{}
)

// start-s3 BUCKET: run the Versity S3 gateway on loopback with a bucket,
// and point the script's AWS environment at it (AWS_ENDPOINT_URL, keys).
// S3_DATA is its posix backend: objects are files under $S3_DATA/BUCKET.
func cmdStartS3(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: start-s3 BUCKET")
	}
	srv, err := s3test.StartIn(ts.MkAbs("s3data"))
	ts.Check(err)
	ts.Defer(srv.Stop)
	_, err = srv.Bucket(args[0])
	ts.Check(err)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		ts.Setenv(k, v)
	}
	ts.Setenv("S3_DATA", srv.Dir)
	s3mu.Lock()
	s3servers[ts] = srv
	s3mu.Unlock()
}

// s3 stop|restart: stop the script's S3 server, or run it again on the
// same port and data.
func cmdS3(ts *testscript.TestScript, neg bool, args []string) {
	s3mu.Lock()
	srv := s3servers[ts]
	s3mu.Unlock()
	if neg || len(args) != 1 || srv == nil {
		ts.Fatalf("usage: s3 stop|restart (after start-s3)")
	}
	switch args[0] {
	case "stop":
		srv.Stop()
	case "restart":
		ts.Check(srv.Restart())
	default:
		ts.Fatalf("usage: s3 stop|restart")
	}
}

// freeport VAR: set VAR to a free loopback address, 127.0.0.1:PORT.
func cmdFreeport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeport VAR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	ts.Setenv(args[0], ln.Addr().String())
	ln.Close()
}

// get URL [FILE]: GET URL, which must answer 200 within 30 seconds
// (retrying while nothing listens); the body goes to FILE.
func cmdGet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: [!] get URL [FILE]")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := http.Get(args[0])
		if err == nil {
			body, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if len(args) == 2 {
				ts.Check(os.WriteFile(ts.MkAbs(args[1]), body, 0o644))
			}
			if ok := r.StatusCode == http.StatusOK; ok == neg {
				ts.Fatalf("GET %s: %s: %s", args[0], r.Status, body)
			}
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("GET %s: %v", args[0], err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jsoneq A B: files A and B hold the same JSON value.
func cmdJSONEq(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: [!] jsoneq A B")
	}
	var a, b any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &a))
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[1])), &b))
	if reflect.DeepEqual(a, b) == neg {
		ts.Fatalf("%s and %s: equal is %v", args[0], args[1], !neg)
	}
}

// setfile VAR FILE: set VAR to FILE's content, trimmed.
func cmdSetfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: setfile VAR FILE")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
}
