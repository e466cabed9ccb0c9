package anpr

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

// Mirrors the first two members of OrtApiBase from onnxruntime_c_api.h; the
// layout is part of ORT's stable ABI.
typedef struct {
	const void* (*GetApi)(unsigned int version);
	const char* (*GetVersionString)(void);
} anprOrtApiBase;

typedef const anprOrtApiBase* (*anprGetApiBaseFn)(void);

// anpr_ort_probe loads lib, reports its version string and whether it serves
// the C API version `want`. Returns 0 on success, 1 when dlopen fails, 2 when
// OrtGetApiBase is missing.
static int anpr_ort_probe(const char* lib, unsigned int want, char* ver, size_t n, int* ok, char* err, size_t en) {
	void* h = dlopen(lib, RTLD_LAZY | RTLD_LOCAL);
	if (!h) {
		const char* e = dlerror();
		snprintf(err, en, "%s", e ? e : "unknown error");
		return 1;
	}
	anprGetApiBaseFn fn = (anprGetApiBaseFn)dlsym(h, "OrtGetApiBase");
	if (!fn) {
		dlclose(h);
		return 2;
	}
	const anprOrtApiBase* base = fn();
	snprintf(ver, n, "%s", base->GetVersionString());
	*ok = base->GetApi(want) != NULL;
	dlclose(h);
	return 0;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// ortAPIVersion is the ONNX Runtime C API version onnxruntime_go v1.21.0 is
// compiled against (ORT_API_VERSION in its onnxruntime_c_api.h); libraries
// older than 1.22 refuse it.
const ortAPIVersion = 22

// probeORT reports the version of the ONNX Runtime library at path and fails
// with a clear message when it cannot serve ortAPIVersion, which onnxruntime_go
// would otherwise report only as an opaque initialisation failure.
func probeORT(path string) (string, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var ver, msg [128]C.char
	var ok C.int
	switch C.anpr_ort_probe(cpath, C.uint(ortAPIVersion), &ver[0], C.size_t(len(ver)), &ok, &msg[0], C.size_t(len(msg))) {
	case 1:
		return "", fmt.Errorf("load ONNX Runtime %s: %s (run make anpr-deps)", path, C.GoString(&msg[0]))
	case 2:
		return "", fmt.Errorf("load ONNX Runtime %s: no OrtGetApiBase symbol, not an ONNX Runtime library (run make anpr-deps)", path)
	}
	v := C.GoString(&ver[0])
	if ok == 0 {
		return v, fmt.Errorf("ONNX Runtime %s at %s does not provide C API version %d: onnxruntime_go v1.21.0 needs libonnxruntime >= 1.22 (run make anpr-deps)", v, path, ortAPIVersion)
	}
	return v, nil
}
