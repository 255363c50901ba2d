package bench

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart files written by WriteCharts.
const (
	ThroughputChart = "throughput.svg"
	LatencyChart    = "latency.svg"
)

// Colours and glyphs of the Temporal servers, in the report's order; the
// rows without Temporal are grey squares.
var (
	serverColors = []color.Color{
		color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
		color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	}
	serverShapes = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.PyramidGlyph{}}
	noServer     = color.RGBA{R: 0x70, G: 0x70, B: 0x70, A: 0xff}
	// startColor draws triggerd's start side of the latency.
	startColor = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
)

// WriteCharts draws the report's charts as SVG files in dir (fonts are
// referenced, not embedded, so the files stay small and diffable) and
// returns their paths.
func (r *Report) WriteCharts(dir string) ([]string, error) {
	var files []string
	for name, ch := range map[string]*chart{ThroughputChart: r.throughputChart(), LatencyChart: r.latencyChart()} {
		if ch == nil {
			continue
		}
		f := filepath.Join(dir, name)
		if err := ch.writeSVG(f); err != nil {
			return files, err
		}
		files = append(files, f)
	}
	slices.Sort(files)
	return files, nil
}

// chart is a figure of a given size and the function that draws it.
type chart struct {
	w, h vg.Length
	draw func(draw.Canvas)
}

func (ch *chart) writeSVG(file string) error {
	c := vgsvg.New(ch.w, ch.h)
	ch.draw(draw.New(c))
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// throughputChart is one panel per throughput group: a dot per scenario
// and Temporal server on a log scale, so that each triggerd figure sits
// next to its baselines.
func (r *Report) throughputChart() *chart {
	var panels []*plot.Plot
	var heights []int
	for _, g := range []Group{GroupDecode, GroupStarts, GroupRuns} {
		rows := r.group(g)
		if len(rows) == 0 {
			continue
		}
		p, n := r.dotPlot(g, rows)
		panels = append(panels, p)
		heights = append(heights, n)
	}
	if len(panels) == 0 {
		return nil
	}
	const width, perRow, chrome = 7 * vg.Inch, 0.28 * vg.Inch, 1.1 * vg.Inch
	var total vg.Length
	for _, n := range heights {
		total += vg.Length(n)*perRow + chrome
	}
	return &chart{w: width, h: total, draw: func(dc draw.Canvas) {
		top := dc.Max.Y
		for i, p := range panels {
			h := vg.Length(heights[i])*perRow + chrome
			p.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: dc.Min.X, Y: top - h}, Max: vg.Point{X: dc.Max.X, Y: top},
			}})
			top -= h
		}
	}}
}

// dotPlot draws rows (one group) with one line per scenario name.
func (r *Report) dotPlot(g Group, rows []Result) (*plot.Plot, int) {
	var names []string
	for _, x := range rows {
		if !slices.Contains(names, label(x)) {
			names = append(names, label(x))
		}
	}
	slices.Reverse(names) // first row at the top
	p := plot.New()
	p.Title.Text = g.title()
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Label.Text = "per second (log scale)"
	p.NominalY(names...)
	p.Legend.Top = false
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), 0.0
	for _, x := range rows {
		if x.PerSecond > 0 {
			lo, hi = min(lo, x.PerSecond), max(hi, x.PerSecond)
		}
	}
	if hi > 0 {
		// Room around the dots, and on the right for the legend.
		p.X.Min, p.X.Max = lo/2, hi*8
	}
	servers := append([]string{""}, r.serverNames()...)
	for si, srv := range servers {
		var pts plotter.XYs
		for _, x := range rows {
			if x.Temporal != srv || x.PerSecond <= 0 {
				continue
			}
			pts = append(pts, plotter.XY{X: x.PerSecond, Y: float64(slices.Index(names, label(x)))})
		}
		if len(pts) == 0 {
			continue
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			continue
		}
		s.GlyphStyle.Radius = vg.Points(4)
		if srv == "" {
			s.GlyphStyle.Color, s.GlyphStyle.Shape = noServer, draw.BoxGlyph{}
			p.Legend.Add("no Temporal", s)
		} else {
			s.GlyphStyle.Color, s.GlyphStyle.Shape = serverColors[(si-1)%len(serverColors)], serverShapes[(si-1)%len(serverShapes)]
			p.Legend.Add("Temporal "+srv, s)
		}
		p.Add(s)
	}
	return p, len(names)
}

func label(x Result) string { return x.Scenario }

func (r *Report) serverNames() []string {
	out := make([]string, len(r.Temporal))
	for i, t := range r.Temporal {
		out[i] = t.Name
	}
	return out
}

// latencyChart is a grid of panels, one per steady rate (rows) and
// Temporal server (columns): triggerd's p50 and p99 per second of the run,
// with its baselines' p50, on a log scale. A line climbing to the right is
// a growing backlog.
func (r *Report) latencyChart() *chart {
	rates := map[float64]bool{}
	for _, x := range r.Results {
		if x.Group == GroupLatency && !x.Baseline {
			rates[x.Rate] = true
		}
	}
	servers := r.serverNames()
	if len(rates) == 0 || len(servers) == 0 {
		return nil
	}
	rateList := make([]float64, 0, len(rates))
	for v := range rates {
		rateList = append(rateList, v)
	}
	slices.Sort(rateList)
	const cellW, cellH = 4.2 * vg.Inch, 3 * vg.Inch
	tiles := draw.Tiles{Rows: len(rateList), Cols: len(servers), PadX: vg.Millimeter, PadY: vg.Millimeter}
	grid := make([][]*plot.Plot, len(rateList))
	for i, rate := range rateList {
		grid[i] = make([]*plot.Plot, len(servers))
		for j, srv := range servers {
			grid[i][j] = r.latencyPanel(rate, srv)
		}
	}
	return &chart{w: cellW * vg.Length(len(servers)), h: cellH * vg.Length(len(rateList)), draw: func(dc draw.Canvas) {
		canvases := plot.Align(grid, tiles, dc)
		for i := range grid {
			for j := range grid[i] {
				grid[i][j].Draw(canvases[i][j])
			}
		}
	}}
}

// latencyStyle is how one series of a latency panel is drawn.
type latencyStyle struct {
	scenario, pct string
	color         color.Color
	dashed        bool
}

func (r *Report) latencyPanel(rate float64, server string) *plot.Plot {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%g events/s, Temporal %s", rate, server)
	p.X.Label.Text = "second of the run (by production time)"
	p.Y.Label.Text = "event → webhook, ms (log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Add(plotter.NewGrid())
	top := 0.0
	styles := []latencyStyle{
		{"triggerd/latency", "p50", serverColors[1], false},
		{"triggerd/latency", "p99", serverColors[1], true},
		{"triggerd/start-latency", "p50", startColor, false},
		{"baseline/one-activity", "p50", serverColors[0], false},
		{"baseline/local-eager", "p50", serverColors[2], false},
		{"baseline/direct", "p50", noServer, false},
	}
	for _, st := range styles {
		x := findResult(r.Results, rateName(st.scenario, rate), server)
		if x == nil || len(x.Series) == 0 {
			continue
		}
		var pts plotter.XYs
		for _, b := range x.Series {
			v := b.P50
			if st.pct == "p99" {
				v = b.P99
			}
			pts = append(pts, plotter.XY{X: b.Second, Y: max(v, 0.1)})
			top = max(top, v)
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			continue
		}
		l.Color = st.color
		l.Width = vg.Points(1.5)
		if st.dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s %s", shortName(st.scenario), st.pct), l)
	}
	if top > 0 {
		p.Y.Max = top * 30 // the legend sits above the lines
	}
	return p
}

func shortName(s string) string {
	if len(s) > 9 && s[:9] == "baseline/" {
		return s[9:]
	}
	return s
}
