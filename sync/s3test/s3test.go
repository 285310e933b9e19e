// Package s3test runs a real S3 server on loopback for tests: the Versity
// S3 gateway, pinned in tools/s3/go.mod and built from the module proxy,
// with its posix backend in a temporary directory.
package s3test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Credentials of every server this package starts.
const (
	Access = "signoff-test"
	Secret = "signoff-test-secret-key"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary returns the path of the pinned versitygw, building it if needed.
func Binary() (string, error) {
	binOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		dir := filepath.Join(filepath.Dir(file), "..", "..", "tools", "s3")
		var out, errb bytes.Buffer
		cmd := exec.Command("go", "tool", "-n", "versitygw")
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			binErr = fmt.Errorf("building versitygw (tools/s3): %v\n%s", err, errb.String())
			return
		}
		binPath = strings.TrimSpace(out.String())
	})
	return binPath, binErr
}

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Dir      string // the posix backend: one directory per bucket
	cmd      *exec.Cmd
	exited   chan struct{}
	addr     string
	log      bytes.Buffer
}

// Start runs a server on a free loopback port with its data in a new
// temporary directory, and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := StartIn(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartIn runs a server on a free loopback port, serving dir. Stop it.
func StartIn(dir string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &Server{Dir: dir}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	return s, s.start(addr)
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (s *Server) start(addr string) error {
	bin, err := Binary()
	if err != nil {
		return err
	}
	s.log.Reset()
	cmd := exec.Command(bin, "--access", Access, "--secret", Secret, "--port", addr, "--health", "/healthz", "--quiet", "posix", s.Dir)
	cmd.Stdout, cmd.Stderr = &s.log, &s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.addr, s.Endpoint = cmd, addr, "http://"+addr
	s.exited = make(chan struct{})
	go func() { cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.exited:
			s.cmd = nil
			return fmt.Errorf("versitygw on %s exited: %s", addr, s.log.String())
		default:
		}
		r, err := http.Get(s.Endpoint + "/healthz")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("versitygw on %s did not become ready: %v\n%s", addr, err, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server.
func (s *Server) Stop() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		<-s.exited
		s.cmd = nil
	}
}

// Restart runs a stopped server again, on the same address and data.
func (s *Server) Restart() error {
	s.Stop()
	return s.start(s.addr)
}

// Bucket creates a bucket (a directory of the posix backend) and
// returns its name.
func (s *Server) Bucket(name string) (string, error) {
	return name, os.MkdirAll(filepath.Join(s.Dir, name), 0o755)
}

// Env is the environment a process needs to reach the server through the
// standard AWS configuration chain.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + Access,
		"AWS_SECRET_ACCESS_KEY=" + Secret,
		"AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL=" + s.Endpoint,
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Setenv points the test's environment at the server, through the
// standard AWS configuration chain, for the rest of the test.
func (s *Server) Setenv(t testing.TB) {
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}
