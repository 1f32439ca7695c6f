package main

import (
	"fmt"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// fanOutFigure draws a fan-out run in two panels over the group size (log
// scale): deliveries/s above, p50 and p99 send->delivered (log scale)
// below.
func fanOutFigure(steps []step, note string) (figure, error) {
	var rate, offered, p50, p99 plotter.XYs
	var skipped []string
	for _, s := range steps {
		if !s.plotted() {
			skipped = append(skipped, fmt.Sprint(s.GroupSize))
			continue
		}
		x := float64(s.GroupSize)
		rate = append(rate, plotter.XY{X: x, Y: *s.DeliveredPerSec})
		if s.TargetRate != nil && *s.TargetRate > 0 && s.Recipients > 0 {
			offered = append(offered, plotter.XY{X: x, Y: *s.TargetRate * float64(s.Recipients)})
		}
		p50 = append(p50, plotter.XY{X: x, Y: minPositive(*s.DeliveryLatency.P50)})
		p99 = append(p99, plotter.XY{X: x, Y: minPositive(*s.DeliveryLatency.P99)})
	}
	notMeasured := ""
	if len(skipped) > 0 {
		notMeasured = "not measured: groups of " + strings.Join(skipped, ", ") + " members (see the reports)"
	}
	top := plot.New()
	titled(top, "Fan-out: one group, every member online, a fixed message rate", note, notMeasured)
	top.Y.Label.Text = "deliveries/s"
	top.Y.Min = 0
	bottom := plot.New()
	bottom.Y.Label.Text = "send -> delivered (ms, log scale)"
	bottom.X.Label.Text = "members of the group (log scale)"
	logAxis(&bottom.Y)
	for _, p := range []*plot.Plot{top, bottom} {
		logAxis(&p.X)
		p.Add(plotter.NewGrid())
		legendTopLeft(p)
	}
	// Latency grows with the group: the bottom right corner stays free.
	bottom.Legend.Top, bottom.Legend.Left = false, false
	bottom.Legend.XOffs, bottom.Legend.YOffs = vg.Points(-24), vg.Points(6)
	countAxis(&top.Y)
	if err := line(top, rate, 2, "deliveries/s"); err != nil {
		return nil, err
	}
	if len(offered) == len(rate) {
		// What the senders offered: the rate times the connections each
		// message goes to. Deliveries below it mean the server fell behind.
		l, err := plotter.NewLine(offered)
		if err != nil {
			return nil, fmt.Errorf("offered: %w", err)
		}
		l.Color, l.Dashes = color.Gray{Y: 110}, []vg.Length{vg.Points(4), vg.Points(3)}
		top.Add(l)
		top.Legend.Add("offered: rate x recipients", l)
	}
	if err := line(bottom, p50, 0, "p50"); err != nil {
		return nil, err
	}
	if err := line(bottom, p99, 1, "p99"); err != nil {
		return nil, err
	}
	// Both panels share the group-size range, so their points line up.
	for _, p := range []*plot.Plot{top, bottom} {
		p.X.Min, p.X.Max = rate[0].X, rate[len(rate)-1].X
		for _, xy := range rate {
			p.X.Min, p.X.Max = min(p.X.Min, xy.X), max(p.X.Max, xy.X)
		}
		p.X.Padding = vg.Points(12)
	}
	c, dc := newCanvas()
	panels := plot.Align([][]*plot.Plot{{top}, {bottom}}, draw.Tiles{Rows: 2, Cols: 1, PadY: vg.Points(8),
		PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}, dc)
	top.Draw(panels[0][0])
	bottom.Draw(panels[1][0])
	return c, nil
}
