package anpr

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testModelDir is the model cache `make anpr-deps` fills, found from the
// package directory, or KUZET_ANPR_MODELS.
func testModelDir() string {
	if d := os.Getenv("KUZET_ANPR_MODELS"); d != "" {
		return d
	}
	return filepath.Join("..", DefaultModelDir)
}

var testModels struct {
	once sync.Once
	m    *Models
	err  error
}

// needModels loads the models once per test binary and fails (never skips)
// when they are missing: recognition tests are part of the product's tests.
func needModels(tb testing.TB) *Models {
	tb.Helper()
	testModels.once.Do(func() { testModels.m, testModels.err = LoadModels(testModelDir()) })
	if testModels.err != nil {
		tb.Fatalf("load models: %v", testModels.err)
	}
	return testModels.m
}

func newTestRecognizer(tb testing.TB, opts Options) *Recognizer {
	tb.Helper()
	r, err := NewRecognizer(needModels(tb), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

func TestModelSumsMatchMakefile(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "mk", "anpr.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue
		}
		if want, ok := modelSums[fields[1]]; !ok || want != fields[0] {
			t.Errorf("mk/anpr.sha256 has %s %s; anpr.modelSums has %q", fields[0], fields[1], want)
		}
		seen++
	}
	if seen != len(modelSums) {
		t.Errorf("mk/anpr.sha256 lists %d files, anpr.modelSums %d", seen, len(modelSums))
	}
}

func TestLoadModelsMissing(t *testing.T) {
	_, err := LoadModels(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "run make anpr-deps") || !strings.Contains(err.Error(), LibraryFile) {
		t.Fatalf("err = %v, want one naming %s and make anpr-deps", err, LibraryFile)
	}
}

func TestLoadModelsMismatch(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, LibraryFile), []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadModels(dir)
	if err == nil || !strings.Contains(err.Error(), "sha256") || !strings.Contains(err.Error(), "run make anpr-deps") {
		t.Fatalf("err = %v, want a checksum mismatch naming make anpr-deps", err)
	}
}

func TestProbeORTRejectsNonLibrary(t *testing.T) {
	p := filepath.Join(t.TempDir(), "libfake.so")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := probeORT(p); err == nil || !strings.Contains(err.Error(), "make anpr-deps") {
		t.Fatalf("err = %v", err)
	}
}

func TestProbeORTVersion(t *testing.T) {
	needModels(t)
	v, err := probeORT(filepath.Join(testModelDir(), LibraryFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v, "1.") {
		t.Fatalf("version %q", v)
	}
}
