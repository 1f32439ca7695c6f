package readmodels_test

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/tellyou/tellyou/readmodels"
)

// multiByteText mixes 1- to 4-byte UTF-8 sequences, a combining mark and a
// zero-width joiner sequence.
const multiByteText = "Grüße, naïve café — 你好，世界！こんにちは 한국어 Ελληνικά русский 🦊👩‍💻 e\u0301 "

func TestContentCodecRoundTrips(t *testing.T) {
	t.Parallel()
	var codec readmodels.ContentCodec
	random := make([]byte, 3000)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	at := readmodels.CompressContentAbove
	for _, tc := range []struct {
		name, content, encoding string
	}{
		{"short", "hi", readmodels.ContentPlain},
		{"at the threshold", strings.Repeat("a", at), readmodels.ContentPlain},
		{"one byte over", strings.Repeat("a", at+1), readmodels.ContentDeflate},
		{"multi-byte over", strings.Repeat(multiByteText, 40), readmodels.ContentDeflate},
		{"multi-byte under", multiByteText, readmodels.ContentPlain},
		// Base64 of random bytes still shrinks: 64 symbols in 8-bit bytes.
		{"base64 of random bytes", base64.StdEncoding.EncodeToString(random), readmodels.ContentDeflate},
		{"large", strings.Repeat("the same line again and again\n", 1000), readmodels.ContentDeflate},
	} {
		s, err := codec.Pack(tc.content)
		if err != nil {
			t.Fatalf("%s: pack: %v", tc.name, err)
		}
		if s.Encoding != tc.encoding {
			t.Errorf("%s: %d bytes stored as %q, want %q", tc.name, len(tc.content), s.Encoding, tc.encoding)
		}
		switch s.Encoding {
		case readmodels.ContentPlain:
			if s.Text != tc.content || s.Packed != nil {
				t.Errorf("%s: plain form %q / %x, want the text itself", tc.name, s.Text, s.Packed)
			}
		case readmodels.ContentDeflate:
			if s.Text != "" || len(s.Packed) >= len(tc.content) || strings.Contains(string(s.Packed), tc.content[:32]) {
				t.Errorf("%s: %d bytes packed into %d, text %q: not compressed", tc.name, len(tc.content), len(s.Packed), s.Text)
			}
		}
		got, err := codec.Unpack(s)
		if err != nil || got != tc.content {
			t.Errorf("%s: unpack gave %d bytes (%v), want the %d bytes packed", tc.name, len(got), err, len(tc.content))
		}
		again, err := codec.Pack(tc.content)
		if err != nil || again.Encoding != s.Encoding || string(again.Packed) != string(s.Packed) {
			t.Errorf("%s: packing again gave other bytes: the stored form must be deterministic", tc.name)
		}
	}
}

func TestContentCodecStoresIncompressibleContentPlain(t *testing.T) {
	t.Parallel()
	var codec readmodels.ContentCodec
	// Every UTF-8 text shrinks a little under DEFLATE's entropy coding (its
	// bytes are never uniformly spread); random bytes do not shrink at all.
	raw := make([]byte, 4000)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	s, err := codec.Pack(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if s.Encoding != readmodels.ContentPlain || s.Text != string(raw) || s.Packed != nil {
		t.Fatalf("%d random bytes stored as %q (%d packed bytes), want plain", len(raw), s.Encoding, len(s.Packed))
	}
}

func TestContentCodecRefusesDamagedRows(t *testing.T) {
	t.Parallel()
	var codec readmodels.ContentCodec
	good, err := codec.Pack(strings.Repeat(multiByteText, 20))
	if err != nil || good.Encoding != readmodels.ContentDeflate {
		t.Fatalf("pack: %+v, %v", good.Encoding, err)
	}
	truncated := good
	truncated.Packed = good.Packed[:len(good.Packed)/2]
	notUTF8 := readmodels.StoredContent{Encoding: readmodels.ContentDeflate,
		Packed: deflateBytes(t, []byte(strings.Repeat("\xff\xfe", 700)))}
	for name, s := range map[string]readmodels.StoredContent{
		"unknown encoding": {Encoding: "zstd", Packed: good.Packed},
		"empty encoding":   {Text: "x"},
		"truncated stream": truncated,
		"garbage":          {Encoding: readmodels.ContentDeflate, Packed: []byte("this is not deflate at all")},
		"not UTF-8":        notUTF8,
	} {
		if got, err := codec.Unpack(s); !errors.Is(err, readmodels.ErrCorruptContent) {
			t.Errorf("%s: unpack = %d bytes, %v; want ErrCorruptContent", name, len(got), err)
		}
	}
	// The codec still works after refusing damaged rows.
	if got, err := codec.Unpack(good); err != nil || got != strings.Repeat(multiByteText, 20) {
		t.Errorf("unpack after failures: %v", err)
	}
}

// deflateBytes compresses b as the codec stores content.
func deflateBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestContentCodecConcurrentUse(t *testing.T) {
	t.Parallel()
	var codec readmodels.ContentCodec
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				content := strings.Repeat(string(rune('a'+g))+multiByteText, 20+i)
				s, err := codec.Pack(content)
				if err != nil {
					errs <- err.Error()
					return
				}
				if got, err := codec.Unpack(s); err != nil || got != content {
					errs <- "round trip changed the content"
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
