package remote

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"
)

// DefaultPartSize is the multipart part size for uploads and the piece
// size of parallel downloads. 16 MiB parts put a 10 GB checkpoint in 640
// parts (S3 allows 10,000) and keep Parallel parts of memory in flight at
// most; it is a multiple of cache.SegmentSize, as downloads require.
const DefaultPartSize = 16 << 20

// S3Options configure an S3 store.
type S3Options struct {
	// Endpoint is the URL of a non-AWS store (http://127.0.0.1:8333);
	// empty means AWS, with the region from the AWS configuration.
	Endpoint string
	// Timeout bounds connecting and waiting for a response's headers, so
	// that an unreachable or stalled store fails fast. Default 10s.
	Timeout time.Duration
	// PartSize is the multipart part size; objects larger than it are
	// uploaded in parts. Default DefaultPartSize.
	PartSize int64
	// Parallel is how many parts of one object move at once. Default 4.
	Parallel int
}

// S3 is a Store in an S3 bucket under a prefix. Credentials come from the
// standard AWS chain (environment, shared config and credentials files,
// SSO, instance roles) and appear in no message.
type S3 struct {
	client         *s3.Client
	bucket, prefix string
	endpoint       string
	partSize       int64
	parallel       int
}

// ParseURL splits s3://bucket/prefix into bucket and prefix (without
// slashes at either end).
func ParseURL(raw string) (bucket, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("remote %q: want s3://BUCKET or s3://BUCKET/PREFIX", raw)
	}
	if u.User != nil || u.RawQuery != "" {
		return "", "", fmt.Errorf("remote %q: put no credentials or options in the URL; credentials come from the AWS environment (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...)", redactURL(raw))
	}
	return u.Host, strings.Trim(u.Path, "/"), nil
}

// redactURL drops a user:password part from a URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// NewS3 opens the store at rawURL (s3://bucket/prefix).
func NewS3(ctx context.Context, rawURL string, opt S3Options) (*S3, error) {
	bucket, prefix, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.PartSize <= 0 {
		opt.PartSize = DefaultPartSize
	}
	if opt.Parallel <= 0 {
		opt.Parallel = 4
	}
	// The SDK's own client, so that AWS_CA_BUNDLE and the like still
	// apply; only the timeouts change.
	httpc := awshttp.NewBuildableClient().
		WithTransportOptions(func(t *http.Transport) {
			dialer := &net.Dialer{Timeout: opt.Timeout, KeepAlive: 30 * time.Second}
			t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := dialer.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return &stallConn{Conn: c, timeout: opt.Timeout}, nil
			}
			t.ResponseHeaderTimeout = opt.Timeout
			t.TLSHandshakeTimeout = opt.Timeout
			t.MaxIdleConnsPerHost = 32
		})
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithHTTPClient(httpc),
		config.WithRetryMaxAttempts(2),
	)
	if err != nil {
		return nil, fmt.Errorf("remote %s: reading the AWS configuration: %w", rawURL, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // S3-compatible stores ignore it, but signing needs one
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opt.Endpoint != "" {
			o.BaseEndpoint = aws.String(opt.Endpoint)
			o.UsePathStyle = true
		}
		// Only what the store requires: some S3-compatible stores reject
		// the newer default checksum trailers. Content is verified
		// against refeval's own digests anyway.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &S3{client: client, bucket: bucket, prefix: prefix, endpoint: opt.Endpoint, partSize: opt.PartSize, parallel: opt.Parallel}, nil
}

func (s *S3) key(k string) string {
	if s.prefix == "" {
		return k
	}
	return s.prefix + "/" + k
}

// String implements Store.
func (s *S3) String() string {
	u := "s3://" + s.bucket
	if s.prefix != "" {
		u += "/" + s.prefix
	}
	if s.endpoint != "" {
		u += " at " + redactURL(s.endpoint)
	}
	return u
}

// isNotFound reports whether err is S3's "no such key".
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "404":
			return true
		}
	}
	return false
}

func (s *S3) wrap(op, key string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("%s: %w", key, ErrNotExist)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Object, error) {
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))}
	if off > 0 || n >= 0 {
		r := fmt.Sprintf("bytes=%d-", off)
		if n >= 0 {
			if n == 0 {
				return io.NopCloser(bytes.NewReader(nil)), Object{Key: key}, nil
			}
			r += fmt.Sprint(off + n - 1)
		}
		in.Range = &r
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, Object{}, s.wrap("get", key, err)
	}
	o := Object{Key: key, Size: aws.ToInt64(out.ContentLength), Modified: aws.ToTime(out.LastModified)}
	return out.Body, o, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil {
		return Object{}, s.wrap("stat", key, err)
	}
	return Object{Key: key, Size: aws.ToInt64(out.ContentLength), Modified: aws.ToTime(out.LastModified)}, nil
}

// Put implements Store. Objects larger than the part size go up in
// parts, Parallel at a time; an interrupted multipart upload of the same
// key is resumed, reusing the parts whose MD5 (their ETag) matches.
func (s *S3) Put(ctx context.Context, key string, r io.ReaderAt, size int64) error {
	if size <= s.partSize {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &s.bucket, Key: aws.String(s.key(key)),
			Body: io.NewSectionReader(r, 0, size), ContentLength: aws.Int64(size),
		})
		if err != nil {
			return s.wrap("put", key, err)
		}
		return nil
	}
	return s.putMultipart(ctx, key, r, size)
}

// putPart uploads part i (from 0) of the object full, of size bytes read
// from r, unless done (part number → ETag, from an upload being resumed)
// already holds it with the same content.
func (s *S3) putPart(ctx context.Context, full, uploadID string, r io.ReaderAt, size int64, i int32, done map[int32]string) (types.CompletedPart, error) {
	off := int64(i) * s.partSize
	n := min(s.partSize, size-off)
	num := i + 1
	if etag, ok := done[num]; ok {
		h := md5.New()
		if _, err := io.Copy(h, io.NewSectionReader(r, off, n)); err == nil && `"`+hex.EncodeToString(h.Sum(nil))+`"` == etag {
			return types.CompletedPart{PartNumber: aws.Int32(num), ETag: aws.String(etag)}, nil
		}
	}
	out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: &s.bucket, Key: &full, UploadId: &uploadID, PartNumber: aws.Int32(num),
		Body: io.NewSectionReader(r, off, n), ContentLength: aws.Int64(n),
	})
	if err != nil {
		return types.CompletedPart{}, err
	}
	return types.CompletedPart{PartNumber: aws.Int32(num), ETag: out.ETag}, nil
}

func (s *S3) putMultipart(ctx context.Context, key string, r io.ReaderAt, size int64) error {
	full := s.key(key)
	uploadID, done := s.resumable(ctx, full)
	if uploadID == "" {
		out, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &full})
		if err != nil {
			return s.wrap("put", key, err)
		}
		uploadID = aws.ToString(out.UploadId)
	}
	nparts := int32((size + s.partSize - 1) / s.partSize)
	parts := make([]types.CompletedPart, nparts)
	// After a failed part no new one starts; those under way finish, so
	// that a later Put resumes with as many parts as possible.
	var (
		g      errgroup.Group
		failed atomic.Bool
	)
	g.SetLimit(s.parallel)
	for i := range nparts {
		if failed.Load() || ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			part, err := s.putPart(ctx, full, uploadID, r, size, i, done)
			if err != nil {
				failed.Store(true)
				return err
			}
			parts[i] = part
			return nil
		})
	}
	first := g.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first != nil {
		// The parts stay with the store, so that a later Put of the same
		// key resumes; `cache gc --remote` aborts old ones.
		return s.wrap("put", key, first)
	}
	_, err := s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &full, UploadId: &uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return s.wrap("put", key, err)
	}
	return nil
}

// resumable finds an unfinished multipart upload of key and the ETags of
// its parts by number; it returns "" if there is none.
func (s *S3) resumable(ctx context.Context, full string) (string, map[int32]string) {
	out, err := s.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &full})
	if err != nil {
		return "", nil
	}
	var newest *types.MultipartUpload
	for i, u := range out.Uploads {
		if aws.ToString(u.Key) == full && (newest == nil || aws.ToTime(u.Initiated).After(aws.ToTime(newest.Initiated))) {
			newest = &out.Uploads[i]
		}
	}
	if newest == nil {
		return "", nil
	}
	id := aws.ToString(newest.UploadId)
	done := map[int32]string{}
	p := s3.NewListPartsPaginator(s.client, &s3.ListPartsInput{Bucket: &s.bucket, Key: &full, UploadId: &id})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", nil
		}
		for _, part := range page.Parts {
			done[aws.ToInt32(part.PartNumber)] = aws.ToString(part.ETag)
		}
	}
	return id, done
}

// AbortUploads aborts the unfinished multipart uploads started before
// cutoff, and returns how many.
func (s *S3) AbortUploads(ctx context.Context, cutoff time.Time) (int, error) {
	prefix := s.key("")
	out, err := s.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &prefix})
	if err != nil {
		return 0, s.wrap("list uploads", prefix, err)
	}
	n := 0
	for _, u := range out.Uploads {
		if aws.ToTime(u.Initiated).Before(cutoff) {
			if _, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: u.Key, UploadId: u.UploadId}); err == nil {
				n++
			}
		}
	}
	return n, nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string, fn func(Object) error) error {
	full := s.key(prefix)
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &full})
	var objs []Object
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.wrap("list", prefix, err)
		}
		objs = objs[:0]
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if s.prefix != "" {
				k = strings.TrimPrefix(k, s.prefix+"/")
			}
			objs = append(objs, Object{Key: k, Size: aws.ToInt64(o.Size), Modified: aws.ToTime(o.LastModified)})
		}
		sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
		for _, o := range objs {
			if err := fn(o); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil && !isNotFound(err) {
		return s.wrap("delete", key, err)
	}
	return nil
}

// CreateBucket creates the bucket if it does not exist (for tests and
// first-time setup against a local store).
func (s *S3) CreateBucket(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err == nil {
		return nil
	}
	_, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.bucket})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("creating bucket %s: %w", s.bucket, err)
	}
	return nil
}

// stallConn fails a read or write that makes no progress for timeout: a
// store that stops reading an upload or sending a download (hung, or its
// host gone without a reset) costs one timeout, not the kernel's minutes.
// An idle pooled connection that times out is simply dropped.
type stallConn struct {
	net.Conn
	timeout time.Duration
}

func (c *stallConn) Read(b []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(b)
}

func (c *stallConn) Write(b []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(b)
}
