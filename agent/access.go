package agent

import (
	"context"
	"path/filepath"

	"github.com/kuzet/kuzet/archive/sftpd"
	"github.com/kuzet/kuzet/archive/sftppush"
	"github.com/kuzet/kuzet/audit"
)

// openAccess opens the access role: the archive's SFTP server and the
// SFTP push, when configured.
func (a *Agent) openAccess() error {
	if s := a.cfg.SFTP; s.Listen != "" {
		var accts []sftpd.Account
		for _, ac := range s.Accounts {
			accts = append(accts, sftpd.Account{Name: ac.Name, PasswordHash: ac.PasswordHash, AuthorizedKeys: ac.Keys, Allow: ac.Allow})
		}
		srv, err := sftpd.New(sftpd.Options{
			Listen: s.Listen, Root: a.cfg.Archive.Root, HostKeyPath: s.HostKey, Accounts: accts,
			// replicas kept in the archive's object store, listed from its index
			Replicas:    a.archive,
			MaxSessions: s.MaxSessions, IdleTimeout: s.IdleTimeout.Std(), LoginTimeout: s.LoginTimeout.Std(),
			// SFTP logins, failed logins, downloads and session ends go
			// into the audit chain like the HTTP API's
			Audit: func(e sftpd.AuditEntry) error {
				_, err := a.audit.Record(audit.Entry(e))
				return err
			},
			Logger: a.log.With("component", "sftp"), Registerer: a.reg,
		})
		if err != nil {
			return err
		}
		a.sftp = srv
		a.life.onCloseIdle("sftp server", a.sftp.Close)
		a.life.loop("sftp server", func(ctx context.Context) {
			if err := a.sftp.Run(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("sftp server stopped", "err", err)
			}
		})
	}
	if p := a.cfg.SFTPPush; p.Host != "" {
		push, err := sftppush.New(sftppush.Options{
			Host: p.Host, Port: p.Port, User: p.User, Password: p.Password, KeyFile: p.Key,
			KnownHostKey: p.KnownHostKey, Root: p.Root, ArchiveRoot: a.cfg.Archive.Root,
			QueuePath: filepath.Join(a.cfg.Node.DataDir, "sftp-push.db"), Log: a.events,
			MaxBytesPerSecond: p.MaxMbps * 1e6 / 8, BackoffMax: p.BackoffMax.Std(), AlarmAfter: p.AlarmAfter.Std(),
			Timeout: p.Timeout.Std(), Logger: a.log.With("component", "sftp-push"), Registerer: a.reg,
		})
		if err != nil {
			return err
		}
		a.push = push
		a.life.onClose("sftp push", a.push.Close)
		a.life.loop("sftp push", func(ctx context.Context) {
			if err := a.push.Run(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("sftp push stopped", "err", err)
			}
		})
	}
	return nil
}

// SFTPAddr is the bound SFTP address ("" when not serving).
func (a *Agent) SFTPAddr() string {
	if a.sftp == nil {
		return ""
	}
	return a.sftp.Addr().String()
}
