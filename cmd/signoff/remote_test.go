package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
	// Readiness only: a test's self-signed certificate is not checked.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := client.Get(args[0])
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

// gencert DIR: write a self-signed certificate for 127.0.0.1 and
// localhost, DIR/cert.pem and DIR/key.pem.
func cmdGencert(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: gencert DIR")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ts.Check(err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "signoff test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	ts.Check(err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	ts.Check(err)
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o700))
	ts.Check(os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	ts.Check(os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600))
}
