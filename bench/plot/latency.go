package main

import (
	"fmt"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// latencyFigure draws a sweep: p50 and p99 send->delivered (log scale)
// against delivered messages/s, each point labelled with its offered rate.
// How latency grows as throughput nears what the server can do is the
// figure's point: the last steps bend upwards.
func latencyFigure(steps []step, note string) (figure, error) {
	var p50, p99 plotter.XYs
	var labels []string
	var skipped []string
	for _, s := range steps {
		if !s.plotted() {
			skipped = append(skipped, s.offered())
			continue
		}
		x := *s.DeliveredPerSec
		p50 = append(p50, plotter.XY{X: x, Y: minPositive(*s.DeliveryLatency.P50)})
		p99 = append(p99, plotter.XY{X: x, Y: minPositive(*s.DeliveryLatency.P99)})
		labels = append(labels, "offered "+s.offered())
	}
	notMeasured := ""
	if len(skipped) > 0 {
		notMeasured = "not measured: offered " + strings.Join(skipped, ", ")
	}
	p := plot.New()
	titled(p, "Latency against throughput: direct messages, offered load swept", note, notMeasured)
	p.X.Label.Text = "delivered messages/s"
	p.Y.Label.Text = "send -> delivered (ms, log scale)"
	p.X.Min = 0
	logAxis(&p.Y)
	p.Add(plotter.NewGrid())
	if err := line(p, p50, 0, "p50"); err != nil {
		return nil, err
	}
	if err := line(p, p99, 1, "p99"); err != nil {
		return nil, err
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: p99, Labels: labels})
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font.Size = vg.Points(9)
		l.TextStyle[i].XAlign = draw.XCenter
	}
	l.Offset = vg.Point{Y: vg.Points(6)}
	p.Add(l)
	legendTopLeft(p)
	countAxis(&p.X)
	c, dc := newCanvas()
	p.Draw(dc)
	return c, nil
}
