package readmodels

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// Stored forms of a message's content, the values of
// rm_messages.content_encoding.
const (
	// ContentPlain: the text is in rm_messages.content and content_packed is
	// NULL. Rows written before compression existed all have this form.
	ContentPlain = "plain"
	// ContentDeflate: content_packed holds the UTF-8 text compressed as raw
	// DEFLATE (RFC 1951, no zlib or gzip framing) and content is empty.
	ContentDeflate = "deflate"
)

// CompressContentAbove is the content size, in bytes of UTF-8, above which
// the history read model stores a message's content compressed, when that
// makes it smaller. Shorter content, nearly every chat message, is stored as
// text: compressing it would save a few bytes at the price of a compressor per
// row, and PostgreSQL does not compress values this small itself either.
const CompressContentAbove = 1024

// contentLevel is the DEFLATE level of stored content. Content is compressed
// once, by the history projection, and read many times, so the default level
// (about twice the CPU of the fastest for a few percent better ratio) is worth
// it; decompression costs the same whatever the level.
const contentLevel = flate.DefaultCompression

// StoredContent is a message's content in the form rm_messages keeps it.
type StoredContent struct {
	// Encoding is ContentPlain or ContentDeflate.
	Encoding string
	// Text is the content of a ContentPlain row, empty otherwise.
	Text string
	// Packed is the DEFLATE stream of a ContentDeflate row, nil otherwise.
	Packed []byte
}

// ContentCodec turns message content into its stored form and back. The
// compressors and decompressors it makes (about 800 KB and 40 KB each) are
// kept for reuse. The zero value is ready to use; it is safe for concurrent
// use.
//
// Pack is deterministic for a given build: replaying the log gives the rows
// that the live projection wrote, byte for byte. Another Go release may
// compress differently; Unpack gives the same text either way.
type ContentCodec struct {
	writers sync.Pool // *flate.Writer
	readers sync.Pool // io.ReadCloser that is a flate.Resetter
}

// Pack returns the stored form of content: ContentDeflate when content is
// longer than CompressContentAbove and compresses to fewer bytes than it has,
// ContentPlain otherwise.
func (c *ContentCodec) Pack(content string) (StoredContent, error) {
	plain := StoredContent{Encoding: ContentPlain, Text: content}
	if len(content) <= CompressContentAbove {
		return plain, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(content) / 2)
	w, _ := c.writers.Get().(*flate.Writer)
	if w == nil {
		var err error
		if w, err = flate.NewWriter(&buf, contentLevel); err != nil {
			return StoredContent{}, fmt.Errorf("compress content: %w", err)
		}
	} else {
		w.Reset(&buf)
	}
	if _, err := io.WriteString(w, content); err != nil {
		return StoredContent{}, fmt.Errorf("compress content: %w", err)
	}
	if err := w.Close(); err != nil {
		return StoredContent{}, fmt.Errorf("compress content: %w", err)
	}
	c.writers.Put(w)
	if buf.Len() >= len(content) {
		return plain, nil // incompressible: random or already compressed data
	}
	return StoredContent{Encoding: ContentDeflate, Packed: buf.Bytes()}, nil
}

// ErrCorruptContent is matched by the error of Unpack when a row's stored
// content cannot be turned back into text.
var ErrCorruptContent = errors.New("corrupt stored content")

// Unpack returns the text of stored content. A row with an unknown encoding,
// or whose DEFLATE stream is damaged or does not decode to UTF-8, gives an
// error matching ErrCorruptContent.
func (c *ContentCodec) Unpack(s StoredContent) (string, error) {
	switch s.Encoding {
	case ContentPlain:
		return s.Text, nil
	case ContentDeflate:
	default:
		return "", fmt.Errorf("%w: unknown encoding %q", ErrCorruptContent, s.Encoding)
	}
	src := bytes.NewReader(s.Packed)
	r, _ := c.readers.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReader(src)
	} else if err := r.(flate.Resetter).Reset(src, nil); err != nil {
		return "", fmt.Errorf("decompress content: %w", err)
	}
	var sb strings.Builder
	// Text compresses to a third or less of its size; start there.
	sb.Grow(3 * len(s.Packed))
	_, err := io.Copy(&sb, r)
	if err != nil {
		// A reader that failed may hold the error; do not reuse it.
		return "", fmt.Errorf("%w: deflate: %v", ErrCorruptContent, err)
	}
	c.readers.Put(r)
	text := sb.String()
	if !utf8.ValidString(text) {
		return "", fmt.Errorf("%w: not UTF-8 once decompressed", ErrCorruptContent)
	}
	return text, nil
}
