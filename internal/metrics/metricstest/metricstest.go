// Package metricstest reads metrics the way Prometheus does, over HTTP, so
// that tests can assert the values a scrape would record.
package metricstest

import (
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape gets url in the text format and returns every sample by its series,
// written as Prometheus queries name them: name{label="value",...} with the
// labels sorted and empty ones left out, or the bare name. A histogram gives
// its name_count and name_sum, not its buckets.
func Scrape(t testing.TB, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: status %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	samples := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := series(m.GetLabel())
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				samples[name+labels] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				samples[name+labels] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				samples[name+"_count"+labels] = float64(m.GetHistogram().GetSampleCount())
				samples[name+"_sum"+labels] = m.GetHistogram().GetSampleSum()
			default:
				samples[name+labels] = m.GetUntyped().GetValue()
			}
		}
	}
	return samples
}

// series writes labels as {a="1",b="2"}, leaving out empty values, as
// Prometheus does; "" when none is left.
func series(labels []*dto.LabelPair) string {
	var parts []string
	for _, l := range labels { // the text format lists them sorted
		if l.GetValue() != "" {
			parts = append(parts, l.GetName()+`="`+l.GetValue()+`"`)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// Pick returns the samples of got whose series are keys of want, so that
// cmp.Diff(want, Pick(got, want)) shows what differs and what is missing.
func Pick(got, want map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(want))
	for k := range want {
		if v, ok := got[k]; ok {
			out[k] = v
		}
	}
	return out
}
