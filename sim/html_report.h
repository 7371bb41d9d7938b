// The report page (--html FILE): one self-contained HTML file per run — no script, no network,
// the charts drawn as inline SVG — that a CI system publishes as an artifact and an architect
// opens first: the run's summary, drops by reason, latency per event type (table and CDF), where
// the latency goes (per stage), the time series, per-core utilisation as a heatmap, every unit's
// counters and the resolved config. The same numbers as the JSON (summarize()).
#pragma once

#include <ostream>

#include "chip.h"
#include "report.h"

void write_html_report(std::ostream &o, Chip &chip, const Summary &s, const RunInfo &info);
