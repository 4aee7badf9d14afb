package console

import (
	"fmt"

	"github.com/leadrotor/leadrotor/leads"
)

// The charts are drawn on the server as SVG: no script, nothing fetched,
// and each carries its numbers as a table for screen readers.

// shareChart is a rotation's members' share of today's leads against the
// share their weight promises: a bar each, and a mark at the target.
type shareChart struct {
	ID     string
	Title  string
	Width  int
	Height int
	Rows   []shareRow
	Total  int64
	// BarX is where bars start (after the labels), TrackW a full bar's
	// width, BarH a bar's height, ValueX where the counts are written.
	BarX, TrackW, ValueX, BarH int
}

type shareRow struct {
	User      string
	Assigned  int64
	Share     float64
	Target    float64
	Deviation float64
	// Y is the row's top and TextY its text's baseline; BarW the share
	// bar's width; TargetX the target mark's x, from MarkTop to MarkBottom.
	Y, TextY, BarW, TargetX, MarkTop, MarkBottom int
}

const (
	chartLabelW = 180
	chartBarW   = 300
	chartRowH   = 28
	chartBarH   = 18
)

func newShareChart(st *leads.RotationStats) shareChart {
	ch := shareChart{ID: fmt.Sprintf("share-%d", st.RotationID), Title: "Share of today's leads against the weighted target: " + st.Name,
		Width: chartLabelW + chartBarW + 70, Height: chartRowH*len(st.Members) + 24, Total: st.Total,
		BarX: chartLabelW, TrackW: chartBarW, ValueX: chartLabelW + chartBarW + 8, BarH: chartBarH}
	for i, m := range st.Members {
		y := 20 + i*chartRowH
		ch.Rows = append(ch.Rows, shareRow{User: m.User, Assigned: m.Assigned, Share: m.Share, Target: m.TargetShare,
			Deviation: m.Deviation, Y: y, TextY: y + chartBarH - 4, MarkTop: y - 3, MarkBottom: y + chartBarH + 3,
			BarW: int(m.Share * chartBarW), TargetX: chartLabelW + int(m.TargetShare*chartBarW)})
	}
	return ch
}

// barChart is counts over time or by reason: a column each.
type barChart struct {
	ID     string
	Title  string
	Width  int
	Height int
	Max    int64
	Bars   []chartBar
	// AxisY is the base line's y, TickY the labels' baseline.
	AxisY, TickY int
}

type chartBar struct {
	Label string
	Value int64
	// X, Y, W, H place the column; LabelX its label.
	X, Y, W, H int
	ShowLabel  bool
}

const (
	columnsH   = 120
	columnsTop = 16
)

// newBarChart lays out columns for values; every labelEvery-th label is
// drawn under its column (all are in the table).
func newBarChart(id, title string, labels []string, values []int64, labelEvery int) barChart {
	ch := barChart{ID: id, Title: title, Height: columnsTop + columnsH + 22, AxisY: columnsTop + columnsH, TickY: columnsTop + columnsH + 16}
	for _, v := range values {
		ch.Max = max(ch.Max, v)
	}
	colW := 24
	if len(values) > 16 {
		colW = 16
	}
	ch.Width = len(values)*colW + 8
	for i, v := range values {
		h := 0
		if ch.Max > 0 {
			h = int(int64(columnsH) * v / ch.Max)
		}
		if v > 0 && h < 2 {
			h = 2
		}
		ch.Bars = append(ch.Bars, chartBar{Label: labels[i], Value: v, X: 4 + i*colW, W: colW - 4,
			Y: columnsTop + columnsH - h, H: h, ShowLabel: labelEvery > 0 && i%labelEvery == 0})
	}
	return ch
}
