package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"livechat/cluster"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newRegistry is the server's own metrics registry (never the global
// default one) with the Go runtime and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// serveMetrics serves GET /metrics for reg on addr until stop is called.
// It answers nothing else: the address is meant for a Prometheus scraper
// on a private network or loopback, apart from the public API.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError), Timeout: 10 * time.Second,
	}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics stopped", "err", err)
		}
	}()
	log.Info("metrics serving", "addr", ln.Addr().String(), "path", "/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// routeCollector exports what a cluster node's NATS server sent to and
// received from the other nodes (cluster.RouteTraffic), read once per
// scrape: the inter-node traffic a message costs is the change in these
// over the messages accepted meanwhile.
type routeCollector struct {
	read        func() (cluster.RouteTraffic, bool)
	msgs, bytes *prometheus.Desc
}

func newRouteCollector(read func() (cluster.RouteTraffic, bool)) *routeCollector {
	labels := []string{"direction"}
	return &routeCollector{
		read: read,
		msgs: prometheus.NewDesc("livechat_cluster_route_messages_total",
			"NATS messages this node's server exchanged with the other nodes (direction sent or received); restarts from 0 for a route that reconnects", labels, nil),
		bytes: prometheus.NewDesc("livechat_cluster_route_bytes_total",
			"bytes of those messages", labels, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *routeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.msgs; ch <- c.bytes }

// Collect implements prometheus.Collector.
func (c *routeCollector) Collect(ch chan<- prometheus.Metric) {
	t, ok := c.read()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.msgs, prometheus.CounterValue, float64(t.MsgsOut), "sent")
	ch <- prometheus.MustNewConstMetric(c.msgs, prometheus.CounterValue, float64(t.MsgsIn), "received")
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(t.BytesOut), "sent")
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(t.BytesIn), "received")
}
