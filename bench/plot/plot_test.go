package main

import (
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The testdata files are the step reports of short runs of `tellyou bench
// --json` (a sweep of 200 users over 250, 500, 1000, 2000 msg/s and max, and
// groups of 10 to 2,000 members at 20 msg/s, 3 s a step).

func TestPlotsRecordedRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	latency, fanout := filepath.Join(dir, "latency.png"), filepath.Join(dir, "fanout.png")
	err := run([]string{"-sweep", "testdata/sweep.jsonl", "-fanout", "testdata/fanout.jsonl",
		"-latency-png", latency, "-fanout-png", fanout, "-note", "test machine"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{latency, fanout} {
		checkPNG(t, path)
	}
}

func TestSkippedStepsAreNamedNotPlotted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/fanout.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "fanout.jsonl")
	skipped := `{"step":5,"steps":5,"scenario":"group","groupSize":10000,"targetRate":20,"skipped":"only 9000 of 10000 connections opened"}` + "\n"
	if err := os.WriteFile(in, append(data, skipped...), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "fanout.png")
	if err := run([]string{"-fanout", in, "-fanout-png", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, out)
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 400 {
		t.Errorf("%s is %v, want a figure of at least 600 x 400", path, b)
	}
}

func TestBadInputIsRefusedClearly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := `{"step":1,"targetRate":500,"groupSize":10,"deliveredPerSec":480,"deliveryLatency":{"count":9,"p50Ms":9,"p99Ms":40}}` + "\n"
	tests := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"nothing to plot", nil, "nothing to plot"},
		{"no such file", []string{"-sweep", filepath.Join(dir, "missing.jsonl")}, "missing.jsonl"},
		{"empty", []string{"-sweep", write("empty.jsonl", "\n\n")}, "empty.jsonl: no step reports"},
		{"not JSON", []string{"-sweep", write("table.jsonl", good+"step 2/3  direct (127.0.0.1:8080 ...)\n")}, "table.jsonl line 2: not a step report"},
		{"indented JSON", []string{"-sweep", write("indented.jsonl", "{\n  \"step\": 1\n}\n")}, "indented.jsonl line 1: not a step report"},
		{"no latency", []string{"-sweep", write("nolatency.jsonl", `{"step":1,"targetRate":500,"deliveredPerSec":480}`+"\n")}, `line 1: no "deliveredPerSec" or "deliveryLatency"`},
		{"no rate", []string{"-sweep", write("norate.jsonl", `{"step":1,"deliveredPerSec":480,"deliveryLatency":{"count":1,"p50Ms":9,"p99Ms":40}}`+"\n")}, `no "targetRate"`},
		{"not a fan-out", []string{"-fanout", write("direct.jsonl", `{"step":1,"targetRate":0,"deliveredPerSec":480,"deliveryLatency":{"count":1,"p50Ms":9,"p99Ms":40}}`+"\n")}, `no "groupSize"`},
		{"p99 under p50", []string{"-sweep", write("upside.jsonl", `{"step":1,"targetRate":0,"deliveredPerSec":480,"deliveryLatency":{"count":1,"p50Ms":90,"p99Ms":40}}`+"\n")}, "impossible figures"},
		{"all skipped", []string{"-fanout", write("skipped.jsonl", `{"step":1,"groupSize":10000,"targetRate":20,"skipped":"too many"}`+"\n")}, "no step delivered anything"},
		{"stray argument", []string{"-sweep", write("ok.jsonl", good), "extra"}, "unexpected arguments"},
		{"unwritable figure", []string{"-sweep", write("ok2.jsonl", good), "-latency-png", filepath.Join(dir, "no", "such", "dir.png")}, "write the figure"},
	}
	for _, tt := range tests {
		err := run(tt.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}
