package webclient

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"time"

	"github.com/tellyou/tellyou/handlers/transport/wire"
)

//go:embed static
var staticFS embed.FS

// staticFile is one embedded file, ready to serve.
type staticFile struct {
	body        []byte
	contentType string
	etag        string
}

// contentTypes are the types of the files the client is made of. A file of
// another kind is a build mistake, refused by loadStaticFiles.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// contentSecurityPolicy lets the page load only its own files and talk only
// to its own origin (the WebSocket included).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// loadStaticFiles reads the embedded client into memory, keyed by its path
// under static/, with a content hash as ETag.
func loadStaticFiles() (map[string]staticFile, error) {
	files := map[string]staticFile{}
	err := fs.WalkDir(staticFS, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ctype, ok := contentTypes[path.Ext(name)]
		if !ok {
			return fmt.Errorf("embedded file %s: no content type for %q", name, path.Ext(name))
		}
		body, err := staticFS.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		files[name[len("static/"):]] = staticFile{body: body, contentType: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load web client files: %w", err)
	}
	if _, ok := files["index.html"]; !ok {
		return nil, fmt.Errorf("load web client files: no index.html")
	}
	return files, nil
}

// serveFile answers with one embedded file, or a JSON 404. Files are served
// with "no-cache" and an ETag: the browser keeps them but asks each time
// (a 304 when unchanged), so a page never mixes scripts of two server
// versions.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := h.files[name]
	if !ok {
		writeError(w, r, &wire.Error{Code: wire.CodeNotFound, Message: "no such file: " + r.URL.Path})
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", f.etag)
	hdr.Set("X-Content-Type-Options", "nosniff")
	if name == "index.html" {
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("X-Frame-Options", "DENY")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}
