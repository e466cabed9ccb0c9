package api

import (
	"net/http"

	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/web"
)

// Route is one entry of the node's route table: a ServeMux pattern, the
// least role it needs (0: none, or the handler checks itself: the login,
// the console's assets, a camera's token) and its handler.
type Route struct {
	Pattern string
	Role    auth.Role
	Handler http.Handler `json:"-"`
}

// Handlers are the handlers other packages own, as the agent wires them
// (audit wrappers included). A nil one leaves its routes out: a node that
// keeps no catalogue serves no catalogue API.
type Handlers struct {
	Archive     http.Handler // archive/playback: listings, VOD
	ArchivePlay http.Handler // the HLS playlist of a time range (audited)
	Export      http.Handler // downloads: MP4 export, files, media (audited)
	Exports     http.Handler // signed export packages of several cameras (audited)
	Live        http.Handler // live/: LL-HLS of own and relayed cameras
	WebRTC      http.Handler // whep: a WebRTC live session's offer (audited)
	WebRTCEnd   http.Handler // whep: ending a session
	Tree        http.Handler // the hierarchy as observed through links
	SitesHealth http.Handler // every node's cameras, disk and uplink, asked through the links
	UI          http.Handler // web: the operator console
	Catalogue   http.Handler // topology: reading the catalogue
	Changes     http.Handler // topology: changing it (audited)
	Alarms      http.Handler // alarm: the alarm table
	ClearAlarm  http.Handler // alarm: clearing one (audited)
	Login       http.Handler // auth: sessions and tokens (nil: no users)
	AuditList   http.Handler // audit: the log
	AuditVerify http.Handler // audit: the chain check
	Visits      http.Handler // checkpoint: vehicles' visits through the zones
	DwellStats  http.Handler // checkpoint: time in each zone
	// checkpoint: pass tokens and the exit barrier (the acts are nil at a
	// node with no readers or barriers)
	Cases           http.Handler // token mismatches
	CaseAttempt     http.Handler // an operator's try (audited)
	Unblock         http.Handler // a blocked token unblocked (audited)
	Present         http.Handler // a reader's token: the reader's own token checked
	ReaderHeartbeat http.Handler
	GrantExit       http.Handler // customs' or the owner's exit permission (audited)
	Barriers        http.Handler // barrier states
	OpenBarrier     http.Handler // a manual opening (audited)
	// alarm: the photo of an alarm's evidence (a plate read's, a tamper
	// alarm's frame)
	AlarmSnapshot http.Handler
	Seals         SealHandlers // seals/exchange: the navigation-seal exchange (nil ones: not an operator)
	PTZ           http.Handler // cameras' heads, here and below (GET: status, POST: a command, audited)
	Record        http.Handler // an event recording of a camera started by hand (audited)
	ONVIF         http.Handler // cameras on this node's network: discover, describe
	Clock         http.Handler // the node's clock against NTP and the parent
	Retention     http.Handler // the event log's reach and who holds it
	Sweep         http.Handler // a retention sweep now
	ArchiveStore  http.Handler // the tier's shared archive store: health, uploads under way
	Plugins       http.Handler // analytics plugins: state, counters, last error
	PluginRestart http.Handler // one started again by hand (audited)
}

// SealHandlers serve /api/v1/seals at a node that is its country's
// operator in the navigation-seal exchange.
type SealHandlers struct {
	Partners, Messages, Seal, Anomalies, Vehicle http.Handler // reading
	Send, Declare, Register                      http.Handler // audited changes
	Readings                                     http.Handler // the operator's own seals' data
}

// CataloguePath is where the catalogue API lives; topology.APIPath, which
// its client calls, is the same (checked by the agent's tests).
const CataloguePath = "/api/v1/topology"

// table is every route of the node, in one place: the OpenAPI description
// is checked against it both ways.
func (d Deps) table(ph plates.Handlers) []Route {
	h := d.Handlers
	fn := func(f http.HandlerFunc) http.Handler { return f }
	const (
		none     = auth.Role(0)
		viewer   = auth.RoleViewer
		operator = auth.RoleOperator
		engineer = auth.RoleEngineer
		admin    = auth.RoleAdmin
	)
	return []Route{
		{"GET /metrics", none, d.metrics()},
		{"GET /healthz", none, fn(d.healthz)},
		{"GET /api/v1/node", viewer, fn(d.node)},
		{"GET /api/v1/federation", viewer, fn(d.federation)},
		{"GET /api/v1/time", viewer, h.Clock},
		{"GET /api/v1/tree", viewer, h.Tree},
		{"GET /api/v1/sites/health", viewer, h.SitesHealth},
		{"GET /api/v1/cameras", viewer, fn(d.cameras)},
		{"GET /api/v1/cameras/{camera}/segments", viewer, fn(d.segments)},
		{"GET /api/v1/cameras/{camera}/gaps", viewer, fn(d.gaps)},
		{"POST /api/v1/cameras/{camera}/record", operator, h.Record},
		{"POST /api/v1/onvif/discover", engineer, h.ONVIF},
		{"POST /api/v1/onvif/describe", engineer, h.ONVIF},
		{"GET /api/v1/events", viewer, fn(d.listEvents)},
		{"GET /api/v1/events/retention", engineer, h.Retention},
		{"POST /api/v1/events/retention", admin, h.Sweep},
		{"GET /api/v1/archive/store", engineer, h.ArchiveStore},
		{"GET /api/v1/plugins", engineer, h.Plugins},
		{"POST /api/v1/plugins/{name}/restart", engineer, h.PluginRestart},

		{"GET /api/v1/plates", viewer, fn(ph.Search)},
		{"GET /api/v1/plates/uncertain", viewer, fn(ph.Uncertain)},
		{"POST /api/v1/plates/{origin}/{seq}/correction", operator, fn(ph.Correct)},
		{"POST /api/v1/plates/{origin}/{seq}/confirm", operator, fn(ph.Confirm)},
		{"GET /api/v1/plates/{origin}/{seq}/{image}", viewer, fn(ph.Image)},
		{"GET /api/v1/watchlist", viewer, fn(ph.Watchlist)},
		{"POST /api/v1/watchlist", operator, fn(ph.AddWatch)},
		{"DELETE /api/v1/watchlist/{id}", operator, fn(ph.RemoveWatch)},
		{plates.CameraPlatesPattern, none, fn(ph.Ingest)}, // the camera's token and address

		{"GET /api/v1/visits", viewer, h.Visits},
		{"GET /api/v1/visits/dwell", viewer, h.DwellStats},
		{"POST /api/v1/visits/{origin}/{seq}/exit", operator, h.GrantExit}, // the party is the caller's
		{"GET /api/v1/cases", viewer, h.Cases},
		{"POST /api/v1/cases/{origin}/{seq}/attempts", operator, h.CaseAttempt},
		{"POST /api/v1/tokens/{token}/unblock", admin, h.Unblock},
		{"POST /api/v1/readers/{reader}/presentations", none, h.Present}, // the reader's token
		{"POST /api/v1/readers/{reader}/heartbeat", none, h.ReaderHeartbeat},
		{"GET /api/v1/barriers", viewer, h.Barriers},
		{"POST /api/v1/barriers/{barrier}/open", admin, h.OpenBarrier},

		{"/api/v1/archive/", viewer, h.Archive},
		{"GET /api/v1/archive/play.m3u8", viewer, h.ArchivePlay},
		{"GET /api/v1/archive/transcode.mp4", viewer, h.ArchivePlay},
		{"GET /api/v1/archive/vod/{link}/{path...}", viewer, h.Archive},
		{"GET /api/v1/archive/export.mp4", operator, h.Export},
		{"GET /api/v1/archive/files/{path...}", operator, h.Export},
		{"GET /api/v1/archive/media/{shift}/{path...}", operator, h.Export},
		{"GET /api/v1/archive/cut/{shift}/{until}/{path...}", operator, h.Export},
		{"POST /api/v1/exports", operator, h.Exports},
		{"GET /api/v1/exports", operator, h.Exports},
		{"GET /api/v1/exports/{id}", operator, h.Exports},
		{"GET /api/v1/exports/{id}/package.zip", operator, h.Exports},
		{"/live/", viewer, h.Live},
		{"POST /api/v1/webrtc/{camera...}", viewer, h.WebRTC},
		{"DELETE /api/v1/webrtc/sessions/{id}", viewer, h.WebRTCEnd},

		{"GET /api/v1/ptz/{camera...}", viewer, h.PTZ},
		{"POST /api/v1/ptz/{camera...}", operator, h.PTZ},

		{"GET /api/v1/alarms", viewer, h.Alarms},
		{"GET /api/v1/alarms/{id}", viewer, h.Alarms},
		{"GET /api/v1/alarms/{id}/snapshot.jpg", viewer, h.AlarmSnapshot},
		{"POST /api/v1/alarms/{id}/ack", operator, h.Alarms},
		{"POST /api/v1/alarms/{id}/clear", operator, h.ClearAlarm},

		{"GET /api/v1/seals/partners", viewer, h.Seals.Partners},
		{"GET /api/v1/seals/messages", viewer, h.Seals.Messages},
		{"POST /api/v1/seals/messages", operator, h.Seals.Send},
		{"POST /api/v1/seals/shipments", operator, h.Seals.Declare},
		{"POST /api/v1/seals/registry", engineer, h.Seals.Register},
		{"POST /api/v1/seals/readings", operator, h.Seals.Readings},
		{"GET /api/v1/seals/anomalies", viewer, h.Seals.Anomalies},
		{"GET /api/v1/seals/{seal}", viewer, h.Seals.Seal},
		{"GET /api/v1/seals/vehicles/{plate}", viewer, h.Seals.Vehicle},

		{CataloguePath, engineer, h.Changes},
		{CataloguePath + "/", engineer, h.Changes},
		{"GET " + CataloguePath, viewer, h.Catalogue},
		{"GET " + CataloguePath + "/{$}", viewer, h.Catalogue},
		{"GET " + CataloguePath + "/status", viewer, h.Catalogue},
		{CataloguePath + "/users", admin, h.Changes},
		{CataloguePath + "/users/", admin, h.Changes},
		{CataloguePath + "/members", admin, h.Changes},
		{CataloguePath + "/members/", admin, h.Changes},
		{CataloguePath + "/catalogue", admin, h.Changes},
		{CataloguePath + "/bootstrap", admin, h.Changes},

		{"/api/v1/auth/", none, h.Login}, // guards itself: the login
		{"GET /api/v1/audit", admin, h.AuditList},
		{"GET /api/v1/audit/verify", admin, h.AuditVerify},

		{"GET /{$}", none, h.UI}, // the console loads before login; its API calls need one
		{"GET " + web.Prefix, none, h.UI},
		{"GET /api/v1/openapi.yaml", viewer, OpenAPIHandler()},
	}
}
