package main

import (
	"fmt"
	"math"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// figure is a drawn image, ready to be written as PNG.
type figure = *vgimg.Canvas

// Figures are 900 x 600 points, at 96 dots per inch.
const (
	width  = 9 * vg.Inch
	height = 6 * vg.Inch
	dpi    = 96
)

// savePNG draws a figure and writes it to path as PNG.
func savePNG(path string, draw func() (figure, error)) error {
	c, err := draw()
	if err != nil {
		return fmt.Errorf("draw %s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write the figure: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// newCanvas returns an empty white canvas of the figure size.
func newCanvas() (*vgimg.Canvas, draw.Canvas) {
	c := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(dpi))
	return c, draw.New(c)
}

// titled sets p's title, with the non-empty notes on lines of their own.
func titled(p *plot.Plot, title string, notes ...string) {
	p.Title.Text = title
	for _, n := range notes {
		if n != "" {
			p.Title.Text += "\n" + n
		}
	}
	p.Title.Padding = vg.Points(6)
}

// legendTopLeft puts p's legend in the top left corner of its data area,
// clear of the axes.
func legendTopLeft(p *plot.Plot) {
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(12), -vg.Points(8)
}

// countAxis labels a linear axis of counts in whole numbers with
// thousands separators.
func countAxis(a *plot.Axis) {
	a.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ticks := plot.DefaultTicks{}.Ticks(lo, hi)
		for i := range ticks {
			if ticks[i].Label != "" {
				ticks[i].Label = thousands(ticks[i].Value)
			}
		}
		return ticks
	})
}

// thousands formats v rounded to a whole number, with commas.
func thousands(v float64) string {
	s := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if v < -0.5 {
		s = "-" + s
	}
	return s
}

// logAxis makes a an axis in log scale with ticks at 1, 2 and 5 times the
// powers of ten.
func logAxis(a *plot.Axis) {
	a.Scale = plot.LogScale{}
	a.Tick.Marker = ticks125{}
}

// ticks125 marks 1, 2 and 5 times each power of ten in the range, labelled,
// and the other whole multiples unlabelled; all are labelled when that
// leaves fewer than three labels (a range within about a decade).
type ticks125 struct{}

func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	var ticks []plot.Tick
	labelled := 0
	for exp := math.Floor(math.Log10(lo)); exp <= math.Ceil(math.Log10(hi)); exp++ {
		base := math.Pow(10, exp)
		for m := 1.0; m < 10; m++ {
			v := m * base
			if v < lo*0.999 || v > hi*1.001 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
				labelled++
			}
			ticks = append(ticks, t)
		}
	}
	if labelled < 3 {
		for i := range ticks {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'g', -1, 64)
		}
	}
	return ticks
}

// line adds a line with points through xys to p, in the i-th colour and
// shape, named in the legend.
func line(p *plot.Plot, xys plotter.XYs, i int, name string) error {
	l, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	colour := plotutil.Color(i)
	l.Color, l.Width = colour, vg.Points(1.5)
	pts.Color, pts.Shape, pts.Radius = colour, shapes[i%len(shapes)], vg.Points(3)
	p.Add(l, pts)
	p.Legend.Add(name, l, pts)
	return nil
}

var shapes = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}}

// minPositive keeps a value plottable on a log axis.
func minPositive(v float64) float64 { return math.Max(v, 0.001) }
