package plateapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
)

// apiServer is a plate API that stores reads by idempotency key; it can be
// made to fail with 500 or to answer too slowly.
type apiServer struct {
	mu      sync.Mutex
	mode    string // "500", "slow" or "ok"
	held    map[string]Read
	posts   int
	badAuth int
}

func (s *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.posts++
	mode := s.mode
	s.mu.Unlock()
	if r.Header.Get("X-Api-Key") != "secret" {
		s.mu.Lock()
		s.badAuth++
		s.mu.Unlock()
		http.Error(w, "unauthorised", http.StatusUnauthorized)
		return
	}
	switch mode {
	case "500":
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return
	case "slow":
		time.Sleep(700 * time.Millisecond) // past the client's timeout
	}
	var rd Read
	if err := json.NewDecoder(r.Body).Decode(&rd); err != nil || rd.ID != r.Header.Get("Idempotency-Key") {
		http.Error(w, "bad read", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.held[rd.ID] = rd // a replay overwrites: exactly once by key
	s.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

func (s *apiServer) set(mode string) { s.mu.Lock(); s.mode = mode; s.mu.Unlock() }

// CGR-4.3: the API refuses connections, then answers 500, then is slow,
// while reads happen and the node restarts; in the end it holds every read
// exactly once by idempotency key, with its photos and archive link.
func TestPushSurvivesOutagesAndRestart(t *testing.T) {
	dir := t.TempDir()
	platesDir := filepath.Join(dir, "plates")
	_ = os.MkdirAll(filepath.Join(platesDir, "Camera1"), 0o755)
	jpegBytes := []byte{0xff, 0xd8, 0xff, 0xe0, 'J', 'F', 'I', 'F', 0xff, 0xd9}
	_ = os.WriteFile(filepath.Join(platesDir, "Camera1", "a.jpg"), jpegBytes, 0o644)

	// a port with nothing listening: connections are refused
	addr := testkit.Port(t)

	logPath := filepath.Join(dir, "events.db")
	log, err := event.OpenLog(logPath, "site-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	read := func(l *event.Log, plate string) string {
		e, err := l.Append(event.New("plate.read", "Camera1", "", map[string]any{
			"plate": plate, "country": "KZ", "confidence": 0.9, "direction": "entry",
			"overview": "Camera1/a.jpg", "crop": "Camera1/a.jpg",
			"archive_link": `Camera1\2025\08\18\11\Camera1_2025_08_18_11_05.mp4`, "offset_seconds": 12.5,
		}))
		if err != nil {
			t.Fatal(err)
		}
		return e.ID()
	}
	start := func(l *event.Log) func() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			Run(ctx, Options{URL: "http://" + addr + "/reads?token=qsecret", AuthHeader: "X-Api-Key: secret", Timeout: 300 * time.Millisecond,
				Log: l, PlatesDir: platesDir, Kind: "plate.read", BackoffMax: 200 * time.Millisecond, FailAlarmAfter: 3})
			close(done)
		}()
		return func() { cancel(); <-done }
	}
	var ids []string
	ids = append(ids, read(log, "123ABC02"), read(log, "A123BC77"))
	stop := start(log)
	time.Sleep(time.Second) // refused all along

	api := &apiServer{mode: "500", held: map[string]Read{}}
	srv := &http.Server{Handler: api}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	ids = append(ids, read(log, "AA1234BB"))
	time.Sleep(time.Second)
	api.set("slow")
	time.Sleep(time.Second)

	// restart the node in the middle of it
	stop()
	log.Close()
	log, err = event.OpenLog(logPath, "site-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	ids = append(ids, read(log, "456KTA05"))
	stop = start(log)
	defer stop()
	api.set("ok")
	ids = append(ids, read(log, "777XYZ01"))

	deadline := time.Now().Add(15 * time.Second)
	for {
		api.mu.Lock()
		n := len(api.held)
		api.mu.Unlock()
		if n == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("API holds %d of %d reads", n, len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // nothing more should arrive
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.held) != len(ids) || api.badAuth != 0 {
		t.Fatalf("held %d, want %d; %d requests without the auth header", len(api.held), len(ids), api.badAuth)
	}
	for _, id := range ids {
		rd, ok := api.held[id]
		if !ok {
			t.Fatalf("read %s missing", id)
		}
		photo, err := base64.StdEncoding.DecodeString(rd.Photo)
		if err != nil || string(photo) != string(jpegBytes) || rd.Direction != "entry" || rd.Camera != "Camera1" ||
			rd.Archive != `Camera1\2025\08\18\11\Camera1_2025_08_18_11_05.mp4` || rd.Time.IsZero() {
			t.Fatalf("read %s arrived as %+v", id, rd)
		}
	}
	t.Logf("%d reads held after %d POSTs", len(api.held), api.posts)
	all, _ := log.Range(0, 0)
	raised, cleared := 0, 0
	for _, e := range all {
		switch e.Kind {
		case event.KindAlarmRaised:
			raised++
			// the query may hold a credential: the alarm names the
			// endpoint without it
			if strings.Contains(string(e.Payload), "qsecret") || !strings.Contains(string(e.Payload), addr+"/reads") {
				t.Errorf("alarm %s", e.Payload)
			}
		case event.KindAlarmCleared:
			cleared++
		}
	}
	if raised == 0 || cleared == 0 {
		t.Fatalf("plate_api_failing raised %d, cleared %d times", raised, cleared)
	}
}
