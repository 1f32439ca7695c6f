package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// runtimeSample is the server's Go runtime at a moment, from its pprof
// endpoint (tellyou serve --debug-addr).
type runtimeSample struct {
	heap       int64 // bytes of live heap objects (HeapAlloc right after a collection)
	stack      int64 // bytes of goroutine stacks in use
	goroutines int64
}

// sampleRuntime reads the heap profile after a forced collection (gc=1)
// for the runtime's memory statistics, and the goroutine count.
func sampleRuntime(ctx context.Context, client *http.Client, debugAddr string) (runtimeSample, error) {
	var s runtimeSample
	found := 0
	err := scanPage(ctx, client, "http://"+debugAddr+"/debug/pprof/heap?debug=1&gc=1", func(line string) bool {
		if v, ok := strings.CutPrefix(line, "# HeapAlloc = "); ok {
			s.heap, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			found++
		}
		if v, ok := strings.CutPrefix(line, "# Stack = "); ok {
			inUse, _, _ := strings.Cut(v, " / ")
			s.stack, _ = strconv.ParseInt(strings.TrimSpace(inUse), 10, 64)
			found++
		}
		return found < 2
	})
	if err == nil && found < 2 {
		err = fmt.Errorf("the heap profile has no HeapAlloc or Stack line")
	}
	if err != nil {
		return runtimeSample{}, fmt.Errorf("read the heap profile: %w", err)
	}
	err = scanPage(ctx, client, "http://"+debugAddr+"/debug/pprof/goroutine?debug=1", func(line string) bool {
		if v, ok := strings.CutPrefix(line, "goroutine profile: total "); ok {
			s.goroutines, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			found++
		}
		return false // the total is the first line
	})
	if err == nil && found < 3 {
		err = fmt.Errorf("no goroutine total")
	}
	if err != nil {
		return runtimeSample{}, fmt.Errorf("read the goroutine profile: %w", err)
	}
	return s, nil
}

// scanPage GETs u and hands its lines to line until it returns false.
func scanPage(ctx context.Context, client *http.Client, u string, line func(string) bool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if !line(sc.Text()) {
			return nil
		}
	}
	return sc.Err()
}
