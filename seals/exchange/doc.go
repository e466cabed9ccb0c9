// Package exchange is the node as its country's operator in the
// navigation-seal exchange (docs/seals.md): partners over HTTPS with
// mutual TLS, a durable outbox per partner delivering each message once by
// its ID, inbound dedupe, the routing rules (EAEU-4/5/6), the queries
// answered from the operator's own store, and the anomalies derived from
// seals' technological data.
//
// Everything a message changes — the log, the store, the answers it
// causes — is written in the one transaction that takes it, before the
// partner hears "accepted". It knows nothing of the rest of the node: the
// agent hands it settings and an alarm callback.
package exchange
