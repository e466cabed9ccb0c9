package archive

import (
	"context"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
)

// StoreStatus is how the tier's shared store fares, as this replica sees
// it (GET /api/v1/archive/store).
type StoreStatus struct {
	Store          string                `json:"store"`
	OK             bool                  `json:"ok"`
	LastError      string                `json:"last_error,omitempty"`
	LastErrorAt    time.Time             `json:"last_error_at,omitzero"`
	JournalThrough time.Time             `json:"journal_through,omitzero"` // the journal is read again from this hour
	Uploads        []objstore.UploadInfo `json:"uploads"`                  // under way, or left by a replica that died
	UploadsError   string                `json:"uploads_error,omitempty"`
}

// uploadLister is a store that tells its uploads in progress.
type uploadLister interface {
	Uploads(ctx context.Context, fn func(objstore.UploadInfo) error) error
}

// StoreStatus asks the store for its uploads in progress; ok is false
// when the archive keeps no store.
func (a *Archive) StoreStatus(ctx context.Context) (StoreStatus, bool) {
	if a.o.Store == nil {
		return StoreStatus{}, false
	}
	a.mu.Lock()
	st := StoreStatus{Store: a.o.Store.Name(), OK: !a.storeDown, LastError: a.storeErr, LastErrorAt: a.storeErrAt,
		Uploads: []objstore.UploadInfo{}}
	a.mu.Unlock()
	st.JournalThrough, _ = a.index.storeThrough()
	if ul, ok := a.o.Store.(uploadLister); ok {
		err := ul.Uploads(ctx, func(in objstore.UploadInfo) error {
			st.Uploads = append(st.Uploads, in)
			return nil
		})
		if err != nil {
			st.UploadsError = err.Error()
		}
	}
	return st, true
}
