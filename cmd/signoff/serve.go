package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	ssync "github.com/signoff-dev/signoff/sync"
)

func (a *app) serveCmd() *cobra.Command {
	var listen, store, cache, root, certFile, keyFile, logFormat string
	var timeout time.Duration
	var sf s3Flags
	c := &cobra.Command{
		Use:   "serve --listen ADDR --store (DIR | s3://BUCKET[/PREFIX])",
		Short: "Serve a shared ledger over HTTP(S) for sync and verdicts",
		Long: `Serve a shared ledger: approvers and pipelines sync with it
(signoff sync https://HOST) and ask it for verdicts.

Every entry pushed is checked on receipt: its signature, its place in its
signer's feed, and its signer, who must be an admin of a root this server
knows (for governance adoptions) or a keyring member in good standing when
they signed. Evidence blobs are kept only when a request carries them.
What fails is refused with a JSON error: 400 malformed or out of order,
403 signer not admitted (or a blob no request carries), 409 equivocation,
413 too large (a push holds at most 64 MiB). Pushing again what the
server holds is harmless. At most 4 pushes and 2 verdicts per core are
worked on at once; the rest wait, or get 503 when their time runs out.

The store is a directory (a Badger ledger in DIR/ledger, one server) or an
S3 bucket, where the server keeps a cache of the bucket's log, writes
what it accepts to the bucket (created only if absent) before storing or
acknowledging it, and reads what is new there before every answer: any
number of servers on one bucket behave as one.

The root to trust is --root, or the one DIR/root.pin names (written there
on the first --root). With an S3 store, --root is required.

Endpoints:
  GET  /v1/health, /v1/ready
  GET  /v1/heads                         feed heads and the blob count
  GET  /v1/entries?feed=F&after=N        a feed's entries after seq N (JSON Lines)
  GET  /v1/blobs?after=D, /v1/blobs/D    evidence blobs
  POST /v1/entries                       push entries and blobs (JSON Lines)
  GET  /v1/verdict?subject=S&to=T        the verdict, as signoff verify --json
       (or model=M&version=V; at=RFC3339 to judge as of a time)

It stops gracefully on SIGINT or SIGTERM: requests under way finish.`,
		Example: `  signoff serve --listen 127.0.0.1:8443 --store /srv/signoff --root sha256:… \
      --tls-cert cert.pem --tls-key key.pem
  signoff serve --listen :8080 --store s3://approvals/ledger --root sha256:…
  curl 'http://127.0.0.1:8080/v1/verdict?model=credit-risk&version=7&to=production'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if listen == "" || store == "" {
				return usageError("serve needs --listen ADDR and --store (DIR | s3://BUCKET[/PREFIX])")
			}
			if (certFile == "") != (keyFile == "") {
				return usageError("--tls-cert and --tls-key go together")
			}
			var handler slog.Handler
			switch logFormat {
			case "text":
				handler = slog.NewTextHandler(a.stderr, nil)
			case "json":
				handler = slog.NewJSONHandler(a.stderr, nil)
			default:
				return usageError("--log %q: text or json", logFormat)
			}
			logger := slog.New(handler)
			if root != "" && !policy.IsDigest(root) {
				return usageError("--root %q is not a root digest (sha256: and 64 hex digits)", root)
			}
			opt := ssync.ServerOptions{Logger: logger, Timeout: timeout}
			if strings.HasPrefix(store, "s3://") {
				if root == "" {
					return usageError("serve with an S3 store needs --root sha256:… (signoff governance shows it)")
				}
				s3, err := ssync.NewS3(c.Context(), store, ssync.S3Options{Endpoint: sf.endpoint, PathStyle: sf.pathStyle})
				if err != nil {
					return &exitError{exitUsage, err}
				}
				if cache == "" {
					dir, err := os.MkdirTemp("", "signoff-serve-*")
					if err != nil {
						return err
					}
					defer os.RemoveAll(dir)
					cache = dir
				}
				opt.Backing, opt.Anchor = s3, root
				store = filepath.Join(cache, "ledger")
			} else {
				if sf.endpoint != "" || sf.pathStyle {
					return usageError("--endpoint and --path-style are for an s3:// store")
				}
				if cache != "" {
					return usageError("--cache is for an s3:// store")
				}
				h, err := home.Create(store)
				if err != nil {
					return err
				}
				if opt.Anchor, err = servePin(h, root); err != nil {
					return err
				}
				store = h.Path(home.LedgerDir)
			}
			l, err := ledger.Open(store)
			if err != nil {
				return err
			}
			defer l.Close()
			opt.Ledger = l
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := ssync.NewServer(ctx, opt)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usageError("--listen %s: %v", listen, err)
			}
			hs := &http.Server{
				Handler:           srv.Handler(),
				ReadHeaderTimeout: 10 * time.Second,
				ReadTimeout:       timeout + 30*time.Second,
				WriteTimeout:      timeout + 30*time.Second,
				IdleTimeout:       2 * time.Minute,
				MaxHeaderBytes:    64 << 10,
				ErrorLog:          slog.NewLogLogger(handler, slog.LevelWarn),
			}
			scheme := "http"
			if certFile != "" {
				scheme = "https"
			}
			logger.Info("serving", "url", scheme+"://"+ln.Addr().String(), "store", c.Flag("store").Value.String(), "root", opt.Anchor)
			errc := make(chan error, 1)
			go func() {
				if certFile != "" {
					errc <- hs.ServeTLS(ln, certFile, keyFile)
				} else {
					errc <- hs.Serve(ln)
				}
			}()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			logger.Info("shutting down: finishing requests under way")
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil {
				return fmt.Errorf("shutting down: %v", err)
			}
			if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			logger.Info("stopped")
			return nil
		},
	}
	c.Flags().StringVar(&listen, "listen", "", "the address to listen on, HOST:PORT (required)")
	c.Flags().StringVar(&store, "store", "", "where the ledger lives: a directory, or s3://BUCKET[/PREFIX] (required)")
	c.Flags().StringVar(&cache, "cache", "", "with an S3 store: a directory for the server's cache of it (default a temporary one)")
	c.Flags().StringVar(&root, "root", "", "the digest of the root to trust (sha256:…)")
	c.Flags().StringVar(&certFile, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	c.Flags().StringVar(&keyFile, "tls-key", "", "and this private key (PEM)")
	c.Flags().StringVar(&logFormat, "log", "text", "log format on stderr: text or json")
	c.Flags().DurationVar(&timeout, "timeout", time.Minute, "the longest a request may take")
	sf.add(c)
	return c
}

// servePin returns the root a directory store trusts: the pin, which
// --root must match if given; or --root, pinned the first time.
func servePin(h *home.Home, root string) (string, error) {
	pin, err := h.Pin()
	switch {
	case err != nil:
		return "", err
	case pin != "" && root != "" && root != pin:
		return "", usageError("--root %s, but %s pins %s: remove the pin to trust another root", root, h.Path(home.RootPin), pin)
	case pin != "":
		return pin, nil
	case root == "":
		return "", usageError("serve needs the root to trust: --root sha256:… (signoff governance shows it); it is pinned in %s", h.Path(home.RootPin))
	}
	if _, err := h.SetPin(root); err != nil {
		return "", err
	}
	return root, nil
}
