// Package prometheus holds the Prometheus side of running TellYou: the
// alerting rules (alerts.yml) and an example scrape configuration
// (prometheus.yml). Its tests load the rules as Prometheus does and check
// every expression against the metrics the server exports (see promqlcheck).
package prometheus
