package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/sync/s3test"
)

// s3Store starts a versitygw and returns a store on a new bucket in it,
// configured through the environment as a user's would be.
func s3Store(t *testing.T, prefix string) (*S3Store, *s3test.Server) {
	t.Helper()
	srv := s3test.Start(t)
	srv.Setenv(t)
	bucket, err := srv.Bucket("approvals")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewS3(context.Background(), "s3://"+bucket+"/"+prefix, S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s, srv
}

// TestS3Sync: three homes meet through a real S3 server.
func TestS3Sync(t *testing.T) {
	remote, _ := s3Store(t, "team/ledger")
	converge(t, remote)
}

// TestS3PutNewNeverReplaces: If-None-Match: * holds against a second
// writer, and of racing writers exactly one wins.
func TestS3PutNewNeverReplaces(t *testing.T) {
	ctx := context.Background()
	s, _ := s3Store(t, "")
	if err := s.PutNew(ctx, "log/00000000000000000001", []byte("first\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutNew(ctx, "log/00000000000000000001", []byte("second\n")); !errors.Is(err, ErrExists) {
		t.Fatalf("a second put: %v", err)
	}
	if got, err := s.Get(ctx, "log/00000000000000000001", 100); err != nil || string(got) != "first\n" {
		t.Fatalf("after a second put: %q, %v", got, err)
	}
	var wg stdsync.WaitGroup
	won := make(chan int, 8)
	for i := range 8 {
		wg.Go(func() {
			if err := s.PutNew(ctx, "log/00000000000000000002", []byte(fmt.Sprint(i))); err == nil {
				won <- i
			} else if !errors.Is(err, ErrExists) {
				t.Errorf("writer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(won)
	if n := len(won); n != 1 {
		t.Errorf("%d racing writers won, want 1", n)
	}
	if _, err := s.Get(ctx, "log/00000000000000000009", 100); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing object: %v", err)
	}
	if _, err := s.Get(ctx, "log/00000000000000000001", 3); err == nil {
		t.Error("an object over the limit was read")
	}
}

// TestS3Concurrent: two homes pushing at once to one bucket both land,
// neither replacing the other.
func TestS3Concurrent(t *testing.T) {
	ctx := context.Background()
	remote, _ := s3Store(t, "")
	homes := []*ledger.Ledger{open(t), open(t)}
	states := make([]State, 2)
	for i, l := range homes {
		s := signer(t, fmt.Sprintf("race-%d@example.com", i))
		for j := range 20 {
			if _, err := l.Append(s, "comment", []byte(`{}`), t0.Add(time.Duration(j)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg stdsync.WaitGroup
	for i := range homes {
		wg.Go(func() {
			if _, err := Sync(ctx, homes[i], remote, &states[i], testAnchor); err != nil {
				t.Errorf("home %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i := range homes {
		if _, err := Sync(ctx, homes[i], remote, &states[i], testAnchor); err != nil {
			t.Fatal(err)
		}
	}
	for i, l := range homes {
		if n := count(t, l); n != 40 {
			t.Errorf("home %d holds %d entries, want 40", i, n)
		}
	}
}

// TestS3TamperAndRollback: an object replaced or truncated behind
// signoff's back, or deleted, is caught; nothing local changes.
func TestS3TamperAndRollback(t *testing.T) {
	ctx := context.Background()
	remote, srv := s3Store(t, "p")
	l := open(t)
	s := signer(t, "tam@example.com")
	var st State
	for i := range 2 {
		if _, err := l.Append(s, "comment", []byte(`{}`), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := Sync(ctx, l, remote, &st, testAnchor); err != nil {
			t.Fatal(err)
		}
	}
	obj := filepath.Join(srv.Dir, "approvals", "p", "log", "00000000000000000002")
	data, err := os.ReadFile(obj)
	if err != nil {
		t.Fatalf("the batch object on the server's disk: %v", err)
	}
	saved := st
	check := func(what string, want error) {
		t.Helper()
		st2 := cloneState(saved)
		before := count(t, l)
		if _, err := Sync(ctx, l, remote, &st2, testAnchor); !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", what, err, want)
		} else {
			t.Logf("%s: %v", what, err)
		}
		if count(t, l) != before {
			t.Errorf("%s changed the local ledger", what)
		}
	}
	os.WriteFile(obj, data[:len(data)/2], 0o644)
	check("a truncated batch", ErrTampered)
	other := []byte(string(data))
	other[len(other)/2] ^= 1
	os.WriteFile(obj, other, 0o644)
	check("a replaced batch", ErrTampered)
	os.Remove(obj)
	check("a deleted batch", ErrRollback)
}

func cloneState(s State) State {
	c := State{LastBatch: s.LastBatch, Audit: s.Audit, Digests: map[string]string{}, Seen: map[string]uint64{}, Blobs: map[string]bool{}}
	for k, v := range s.Digests {
		c.Digests[k] = v
	}
	for k, v := range s.Seen {
		c.Seen[k] = v
	}
	for k, v := range s.Blobs {
		c.Blobs[k] = v
	}
	return c
}

// TestS3Errors: a missing bucket, bad credentials and a server that is
// down give errors that say what to do.
func TestS3Errors(t *testing.T) {
	ctx := context.Background()
	good, srv := s3Store(t, "")
	l := open(t)
	nob, err := NewS3(ctx, "s3://no-such-bucket", S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if _, err := Sync(ctx, l, nob, &st, testAnchor); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a missing bucket: %v", err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	bad, _ := NewS3(ctx, "s3://approvals", S3Options{})
	if _, err := Sync(ctx, l, bad, &State{}, testAnchor); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("bad credentials: %v", err)
	}
	srv.Stop()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := Sync(ctx, l, good, &State{}, testAnchor); err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("a server that is down: %v", err)
	}
	for _, loc := range []string{"s3://", "s3://b/../x", "s3://b?x=1", "https://b"} {
		if _, err := NewS3(ctx, loc, S3Options{}); err == nil {
			t.Errorf("%s was accepted", loc)
		}
	}
}

// ackLost is the real store whose PutNew answers an error after the
// object was written: the reply was lost on the way back.
type ackLost struct{ Store }

func (a ackLost) PutNew(ctx context.Context, name string, data []byte) error {
	if err := a.Store.PutNew(ctx, name, data); err != nil {
		return err
	}
	return errors.New("connection reset by peer")
}

// TestS3LostAcknowledgement: a batch that was written though its
// acknowledgement was lost is found by the next sync, which pushes
// nothing twice.
func TestS3LostAcknowledgement(t *testing.T) {
	ctx := context.Background()
	remote, _ := s3Store(t, "")
	l := open(t)
	s := signer(t, "ack@example.com")
	for i := range 5 {
		if _, err := l.Append(s, "comment", []byte(`{}`), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	var st State
	if _, err := Sync(ctx, l, ackLost{remote}, &st, testAnchor); err == nil {
		t.Fatal("the lost acknowledgement was not reported")
	}
	res, err := Sync(ctx, l, remote, &st, testAnchor)
	if err != nil || res.Pushed != 0 {
		t.Fatalf("the next sync: %+v, %v", res, err)
	}
	names, err := remote.List(ctx, "log/", "", 100)
	if err != nil || len(names) != 1 {
		t.Fatalf("the log holds %q (%v), want one batch", names, err)
	}
}
