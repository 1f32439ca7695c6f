// Package grafana holds the Grafana dashboard for TellYou
// (tellyou-dashboard.json). Its tests parse the dashboard and check every
// PromQL query in it against the metrics the server exports.
package grafana
