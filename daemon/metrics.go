package daemon

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the daemon's Prometheus metrics, on a registry of its own.
type Metrics struct {
	Registry   *prometheus.Registry
	Rotations  *prometheus.CounterVec
	Duration   *prometheus.HistogramVec
	Accounts   *prometheus.GaugeVec
	StartDelay prometheus.Histogram
	Recoveries *prometheus.CounterVec
}

// NewMetrics registers the metrics on a registry of their own.
func NewMetrics() (*Metrics, error) {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Rotations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rotator_rotations_total",
			Help: "Rotations by outcome (succeeded, failed, deferred, paused, needs_operator, refused) and template."}, []string{"outcome", "template"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "rotator_rotation_duration_seconds",
			Help: "Wall time of rotations.", Buckets: []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600}}, []string{"template"}),
		Accounts: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rotator_accounts",
			Help: "Accounts waiting for an operator, by state (paused, needs_operator)."}, []string{"state"}),
		StartDelay: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rotator_job_start_delay_seconds",
			Help: "How late due rotations start.", Buckets: []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600}}),
		Recoveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rotator_recoveries_total",
			Help: "Recoveries of unfinished rotations at start, by outcome."}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.Rotations, m.Duration, m.Accounts, m.StartDelay, m.Recoveries} {
		if err := m.Registry.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// Handler serves /metrics and /healthz.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	if d.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := d.Store.Flags(r.Context()); err != nil {
			http.Error(w, "vault unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	return mux
}
