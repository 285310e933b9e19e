package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3Options are how to reach an S3-compatible store beyond what the
// standard AWS configuration (environment, shared config and credentials
// files, profiles) says.
type S3Options struct {
	// Endpoint is the store's URL; empty means AWS_ENDPOINT_URL_S3,
	// AWS_ENDPOINT_URL, the shared config, or AWS itself.
	Endpoint string
	// PathStyle addresses the bucket in the path, not the host name. It
	// is set whatever this says when the endpoint is an IP address or
	// localhost, where host-style addressing cannot work.
	PathStyle bool
	// Client is the HTTP client to use; nil means the SDK's.
	Client *http.Client
}

// S3Store is a Store in an S3 bucket, under a prefix.
type S3Store struct {
	client *s3.Client
	bucket string
	prefix string // "" or ending in "/"
}

// ParseS3 splits s3://bucket/prefix.
func ParseS3(loc string) (bucket, prefix string, err error) {
	u, err := url.Parse(loc)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("%q is not an S3 location: write s3://BUCKET or s3://BUCKET/PREFIX", loc)
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		if err := checkName(prefix); err != nil {
			return "", "", fmt.Errorf("%s: the prefix: %v", loc, err)
		}
		prefix += "/"
	}
	return u.Host, prefix, nil
}

// NewS3 returns the store at s3://bucket/prefix, with credentials and
// region from the standard AWS chain. It makes no request.
func NewS3(ctx context.Context, loc string, opt S3Options) (*S3Store, error) {
	bucket, prefix, err := ParseS3(loc)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("the AWS configuration: %v", err)
	}
	if cfg.Region == "" {
		// S3-compatible stores mostly ignore the region; AWS redirects.
		cfg.Region = "us-east-1"
	}
	endpoint := opt.Endpoint
	if endpoint == "" {
		endpoint = firstNonEmpty(os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL"))
	} else if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q: write a URL such as https://s3.example.com or http://127.0.0.1:9000", endpoint)
	}
	pathStyle := opt.PathStyle || needsPathStyle(endpoint)
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opt.Endpoint != "" {
			o.BaseEndpoint = aws.String(opt.Endpoint)
		}
		o.UsePathStyle = pathStyle
		if opt.Client != nil {
			o.HTTPClient = opt.Client
		}
		// Checksums only where the operation requires one: many
		// S3-compatible stores refuse the newer trailing checksums.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &S3Store{client: client, bucket: bucket, prefix: prefix}, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// needsPathStyle: a bucket cannot be a subdomain of an IP address or of
// localhost.
func needsPathStyle(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || net.ParseIP(h) != nil
}

func (s *S3Store) String() string { return "s3://" + s.bucket + "/" + s.prefix }

// List lists the store's names under prefix after startAfter.
func (s *S3Store) List(ctx context.Context, prefix, startAfter string, limit int) ([]string, error) {
	in := &s3.ListObjectsV2Input{
		Bucket:  aws.String(s.bucket),
		Prefix:  aws.String(s.prefix + prefix),
		MaxKeys: aws.Int32(int32(min(limit, 1000))),
	}
	if startAfter != "" {
		in.StartAfter = aws.String(s.prefix + startAfter)
	}
	out, err := s.client.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, s.explain("list "+prefix, err)
	}
	var names []string
	for _, o := range out.Contents {
		k := aws.ToString(o.Key)
		if !strings.HasPrefix(k, s.prefix) {
			continue
		}
		names = append(names, strings.TrimPrefix(k, s.prefix))
	}
	return names, nil
}

// Get reads an object, at most max bytes.
func (s *S3Store) Get(ctx context.Context, name string, max int64) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + name)})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) || status(err) == http.StatusNotFound {
			return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
		}
		return nil, s.explain("get "+name, err)
	}
	defer out.Body.Close()
	if out.ContentLength != nil && *out.ContentLength > max {
		return nil, fmt.Errorf("%s holds %d bytes, more than the %d allowed", name, *out.ContentLength, max)
	}
	data, err := io.ReadAll(io.LimitReader(out.Body, max+1))
	if err != nil {
		return nil, s.explain("get "+name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s holds more than the %d bytes allowed", name, max)
	}
	return data, nil
}

// PutNew creates an object with If-None-Match: *, so the store refuses
// to replace one that exists, whoever wrote it.
func (s *S3Store) PutNew(ctx context.Context, name string, data []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(s.prefix + name),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String("application/jsonl"),
		IfNoneMatch:   aws.String("*"),
	})
	switch st := status(err); {
	case err == nil:
		return nil
	case st == http.StatusPreconditionFailed || apiCode(err) == "PreconditionFailed":
		return fmt.Errorf("%s: %w", name, ErrExists)
	case st == http.StatusConflict:
		// A concurrent conditional write to the same key is in flight;
		// one of them wins, and this one must read and retry.
		return fmt.Errorf("%s: %w (a concurrent write)", name, ErrExists)
	}
	return s.explain("put "+name, err)
}

func status(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// explain turns an SDK error into one that says what to do.
func (s *S3Store) explain(op string, err error) error {
	where := s.String()
	switch code, st := apiCode(err), status(err); {
	case code == "NoSuchBucket":
		return fmt.Errorf("%s: %s: the bucket %s does not exist: create it, or check the name and endpoint", where, op, s.bucket)
	case st == http.StatusForbidden || code == "AccessDenied" || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch":
		return fmt.Errorf("%s: %s: access denied (%s): check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws/credentials) and the bucket's policy", where, op, firstNonEmpty(code, "403"))
	case code != "":
		var ae smithy.APIError
		errors.As(err, &ae)
		return fmt.Errorf("%s: %s: %s: %s", where, op, code, ae.ErrorMessage())
	}
	if msg := err.Error(); strings.Contains(msg, "failed to retrieve credentials") || strings.Contains(msg, "get credentials:") {
		return fmt.Errorf("%s: %s: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or write ~/.aws/credentials", where, op)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return fmt.Errorf("%s: %s: cannot reach the store: %v", where, op, oe)
	}
	var se *smithyhttp.RequestSendError
	if errors.As(err, &se) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		cause := err
		if se != nil && se.Err != nil {
			cause = se.Err
		}
		return fmt.Errorf("%s: %s: the connection to the store broke (%v): it may have stopped; what was not acknowledged is not counted as sent, so sync again", where, op, cause)
	}
	if errors.As(err, &oe) {
		return fmt.Errorf("%s: %s: cannot reach the store: %v", where, op, oe)
	}
	return fmt.Errorf("%s: %s: %w", where, op, err)
}
