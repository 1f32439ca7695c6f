// Package eventview renders a recorded event the way TellYou shows it to
// auditors and analytics consumers: the audit endpoint, the Server-Sent Events
// feed (GET /v1/feed), `tellyou audit` and the analytics feed on the message
// broker all carry this one JSON form, so a consumer can move from one to
// another without parsing anything new.
package eventview
