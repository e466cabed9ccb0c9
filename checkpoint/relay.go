package checkpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// HTTPController is a barrier's relay box on the network: a command is a
// POST of the Command as JSON to URL; any 2xx answer means it was taken.
type HTTPController struct {
	URL string
	// Header is an extra header line, "Name: value" (empty: none).
	Header string
	Client *http.Client // nil: http.DefaultClient
}

// Open sends the command; anything but a 2xx answer in time is an error,
// and the barrier stays shut.
func (h HTTPController) Open(ctx context.Context, c Command) error {
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if name, value, ok := strings.Cut(h.Header, ":"); ok {
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("relay %s: %w", req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("relay %s answered %s: %s", req.URL.Redacted(), resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
