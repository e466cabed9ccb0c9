package agent

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/kuzet/kuzet/alarm"
	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/seals/exchange"
)

// openSeals makes the node its country's operator in the navigation-seal
// exchange (seals: in the configuration): partners over mutual TLS, the
// outboxes, and the anomalies it derives, raised as alarms here.
func (a *Agent) openSeals() error {
	c := a.cfg.Seals
	if !c.Enabled() {
		return nil
	}
	cert, err := exchange.LoadCertificate(c.TLS.Cert, c.TLS.Key, c.Operator)
	if err != nil {
		return err
	}
	var partners []exchange.Partner
	for i, p := range c.Partners {
		roots, err := exchange.LoadRoots(p.CA)
		if err != nil {
			return fmt.Errorf("seals.partners[%d].ca: %w", i, err)
		}
		partners = append(partners, exchange.Partner{ID: p.ID, Country: p.Country, URL: p.URL, Roots: roots, Roles: p.Roles})
	}
	x, err := exchange.Open(exchange.Options{
		Operator: c.Operator, Listen: c.Listen, Cert: cert, Partners: partners,
		Path:    filepath.Join(a.cfg.Node.DataDir, "seals.db"),
		Timeout: c.Timeout.Std(), RetryMax: c.RetryMax.Std(), LimitKM: c.LimitKM,
		Log: a.log.With("component", "seals"), Alarm: a.sealAlarm,
	})
	if err != nil {
		return err
	}
	a.seals = x
	a.life.onClose("seal exchange", x.Close)
	a.life.loop("seal exchange", x.Run)
	a.log.Info("seal exchange open", "operator", c.Operator, "listen", x.Addr().String(), "partners", len(partners))
	return nil
}

// anomalySeverity grades abnormal situations (section XIII): a broken
// seal, unauthorised actions and a vehicle off its route are grave.
var anomalySeverity = map[string]event.Severity{
	"01": event.SeverityGrave, "02": event.SeverityGrave, "03": event.SeverityGrave, "04": event.SeverityMedium,
	"05": event.SeverityMinor, "06": event.SeverityMedium, "07": event.SeverityGrave,
}

// AlarmSealAnomaly is the alarm type of a sealed shipment's abnormal situation.
const AlarmSealAnomaly = "seal_anomaly"

// sealAlarm raises a seal's abnormal situation as an alarm here.
func (a *Agent) sealAlarm(an exchange.Anomaly) error {
	if a.alarms == nil {
		return nil
	}
	msg := fmt.Sprintf("seal %s, shipment %s", an.Seal, an.Shipment)
	if len(an.Plates) > 0 {
		msg += ", vehicle " + strings.Join(an.Plates, " ")
	}
	msg += ": " + an.Description()
	if an.Detail != "" {
		msg += " (" + an.Detail + ")"
	}
	if an.ReportedBy != "" {
		msg += ", reported by " + an.ReportedBy
	}
	_, _, err := a.alarms.Raise(alarm.Condition{
		Key:      fmt.Sprintf("%s:%s:%s:%s", AlarmSealAnomaly, an.Seal, an.Shipment, an.Code),
		Type:     AlarmSealAnomaly,
		Severity: anomalySeverity[an.Code],
		Message:  msg,
	})
	return err
}

// sealHandlers serves /api/v1/seals; changes are audited.
func (a *Agent) sealHandlers(h *api.Handlers) {
	if a.seals == nil {
		return
	}
	s := a.seals.Handlers()
	h.Seals = api.SealHandlers{
		Partners: s.Partners, Messages: s.Messages, Seal: s.Seal, Anomalies: s.Anomalies, Readings: s.Readings,
		Send:     a.audit.Wrap(audit.ActionSealSend, nil, a.who, s.Send),
		Declare:  a.audit.Wrap(audit.ActionSealDeclare, nil, a.who, s.Declare),
		Register: a.audit.Wrap(audit.ActionSealRegister, nil, a.who, s.Register),
	}
}
