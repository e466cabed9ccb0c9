package anpr

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// DefaultModelDir is where `make anpr-deps` puts the runtime and models,
// relative to the repository root.
const DefaultModelDir = ".cache/anpr"

// Model file names inside the model directory and their sha256 sums. Keep in
// step with mk/anpr.sha256 (a test checks that they agree).
const (
	LibraryFile    = "libonnxruntime.so.1"
	DetectorFile   = "ch_PP-OCRv4_det_infer.onnx"
	RecognizerFile = "ch_PP-OCRv4_rec_infer.onnx"
	DictionaryFile = "ppocr_keys_v1.txt"
)

var modelSums = map[string]string{
	LibraryFile:    "08cf3bf4218f0e816c2a534e960d85221274cb319569bdf1136b29da7065b015",
	DetectorFile:   "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff",
	RecognizerFile: "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0",
	DictionaryFile: "28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7",
}

// Models is a verified model directory with the ONNX Runtime environment
// initialised from its library. It is immutable and may be shared by any
// number of Recognizers.
type Models struct {
	Dir        string
	ORTVersion string
	dict       []string // recogniser classes 1..len(dict); 0 is the CTC blank
}

// LoadModels verifies the files `make anpr-deps` fetches into dir (presence
// and sha256), checks that the ONNX Runtime library serves the C API version
// onnxruntime_go needs and initialises the process-wide ORT environment.
func LoadModels(dir string) (*Models, error) {
	for _, name := range []string{LibraryFile, DetectorFile, RecognizerFile, DictionaryFile} {
		if err := verifyFile(filepath.Join(dir, name), modelSums[name]); err != nil {
			return nil, err
		}
	}
	lib, err := filepath.Abs(filepath.Join(dir, LibraryFile))
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", LibraryFile, err)
	}
	ver, err := initRuntime(lib)
	if err != nil {
		return nil, err
	}
	dict, err := readDictionary(filepath.Join(dir, DictionaryFile))
	if err != nil {
		return nil, err
	}
	return &Models{Dir: dir, ORTVersion: ver, dict: dict}, nil
}

func verifyFile(path, want string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("anpr model file %s is missing: run make anpr-deps", path)
	}
	if err != nil {
		return fmt.Errorf("open anpr model file %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hash anpr model file %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("anpr model file %s has sha256 %s, want %s: run make anpr-deps", path, got, want)
	}
	return nil
}

func readDictionary(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open recogniser dictionary: %w", err)
	}
	defer f.Close()
	var dict []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		dict = append(dict, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read recogniser dictionary %s: %w", path, err)
	}
	// PP-OCR appends a space class after the dictionary.
	return append(dict, " "), nil
}

// ortEnv is the process-wide ONNX Runtime environment. onnxruntime_go keeps
// the environment in its own package variables and can initialise it only
// once per process, so the library path it was started with is remembered
// here to refuse a second, different one.
var ortEnv struct {
	sync.Mutex
	lib, version string
}

func initRuntime(lib string) (string, error) {
	ortEnv.Lock()
	defer ortEnv.Unlock()
	if ortEnv.lib != "" {
		if ortEnv.lib != lib {
			if a, b := fileSum(ortEnv.lib), fileSum(lib); a == "" || a != b {
				return "", fmt.Errorf("ONNX Runtime already initialised from %s; cannot switch to %s in the same process", ortEnv.lib, lib)
			}
		}
		return ortEnv.version, nil
	}
	ver, err := probeORT(lib)
	if err != nil {
		return "", err
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return "", fmt.Errorf("initialise ONNX Runtime %s from %s: %w", ver, lib, err)
	}
	ortEnv.lib, ortEnv.version = lib, ver
	return ver, nil
}

func fileSum(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
