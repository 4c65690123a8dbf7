package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics holds the server's Prometheus collectors.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
}

func newMetrics(reg *prometheus.Registry, r Snapshots) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promptreg_http_requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "promptreg_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if r != nil {
		reg.MustRegister(newStatusCollector(r))
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// middleware counts and times requests by route pattern (never by raw path,
// which would let clients create unbounded label values).
func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		if err != nil {
			// The error handler runs after the middleware chain; count
			// the status it will write.
			status = statusForError(err)
		}
		m.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		return err
	}
}

// statusCollector exposes the registry's sync state as gauges, read at
// scrape time.
type statusCollector struct {
	r                                    Snapshots
	ready, prompts, problems, stale, age *prometheus.Desc
	failures, lastSync                   *prometheus.Desc
}

func newStatusCollector(r Snapshots) *statusCollector {
	return &statusCollector{
		r:        r,
		ready:    prometheus.NewDesc("promptreg_ready", "1 once a snapshot is loaded.", nil, nil),
		prompts:  prometheus.NewDesc("promptreg_prompts", "Prompts served at the tracked branch head.", nil, nil),
		problems: prometheus.NewDesc("promptreg_invalid_files", "Invalid prompt files at the tracked branch head.", nil, nil),
		stale:    prometheus.NewDesc("promptreg_stale_prompts", "Prompts served from their last known good version at the head.", nil, nil),
		age:      prometheus.NewDesc("promptreg_last_fetch_success_age_seconds", "Seconds since the last successful fetch.", nil, nil),
		failures: prometheus.NewDesc("promptreg_sync_consecutive_failures", "Syncs failed in a row.", nil, nil),
		lastSync: prometheus.NewDesc("promptreg_last_sync_timestamp_seconds", "Unix time of the last successful sync.", nil, nil),
	}
}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.ready, c.prompts, c.problems, c.stale, c.age, c.failures, c.lastSync} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.r.Status()
	ready := 0.0
	if st.Ready {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, ready)
	ch <- prometheus.MustNewConstMetric(c.failures, prometheus.GaugeValue, float64(st.ConsecutiveFailures))
	if st.Head != nil {
		ch <- prometheus.MustNewConstMetric(c.prompts, prometheus.GaugeValue, float64(st.Head.Prompts))
		ch <- prometheus.MustNewConstMetric(c.problems, prometheus.GaugeValue, float64(len(st.Head.Problems)))
		ch <- prometheus.MustNewConstMetric(c.stale, prometheus.GaugeValue, float64(len(st.Head.Stale)))
	}
	if st.LastFetchAgeSeconds != nil {
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, *st.LastFetchAgeSeconds)
	}
	if st.LastSync != nil {
		ch <- prometheus.MustNewConstMetric(c.lastSync, prometheus.GaugeValue, float64(st.LastSync.Unix()))
	}
}
