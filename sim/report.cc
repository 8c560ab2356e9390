#include "sim/report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace roster::sim {
namespace {

std::string Json(const Distribution& d) {
  if (d.count == 0) return "null";
  return absl::StrFormat(
      R"({"p50": %.3f, "p99": %.3f, "max": %.3f, "mean": %.3f})", d.p50, d.p99,
      d.max, d.mean);
}

std::string Json(const std::optional<double>& v) {
  return v ? absl::StrFormat("%.3f", *v) : "null";
}

std::string Line(const char* what, const Distribution& d) {
  if (d.count == 0) return absl::StrCat("  ", what, ": never\n");
  return absl::StrFormat(
      "  %-28s mean %6.2f s   p50 %6.2f s   p99 %6.2f s   max %6.2f s\n", what,
      d.mean, d.p50, d.p99, d.max);
}

// user_events and queries, as experiments script them: dissemination and
// completion times, what never arrived.
std::string EventsJson(const EventResults& e) {
  return absl::StrFormat(
      "  \"user_events\": {\"count\": %u, \"dissemination_s\": %s, "
      "\"deliveries_missing\": %u},\n"
      "  \"queries\": {\"count\": %u, \"finished\": %u, \"complete\": %u, "
      "\"completion_s\": %s, \"answers_missing\": %u},\n",
      e.user_events, Json(e.dissemination_s), e.deliveries_missing, e.queries,
      e.queries_finished, e.queries_complete, Json(e.completion_s),
      e.answers_missing);
}

// The "coordinates" line, or nothing when they were off (so that such a
// run's JSON is what builds before coordinates wrote).
std::string CoordinatesJson(const RunResult& r) {
  if (!r.coordinates) return "";
  const CoordinateAccuracy& c = *r.coordinates;
  if (c.pairs == 0)
    return absl::StrFormat(
        "  \"coordinates\": {\"members\": %u, \"pairs\": 0, "
        "\"median_relative_error\": null, "
        "\"p90_relative_error\": null},\n",
        c.members);
  return absl::StrFormat(
      "  \"coordinates\": {\"members\": %u, \"pairs\": %u, "
      "\"median_relative_error\": %.4f, \"p90_relative_error\": %.4f},\n",
      c.members, c.pairs, c.median_relative_error, c.p90_relative_error);
}

}  // namespace

std::string ToJson(const RunResult& r, const HostStats& host) {
  const auto& s = r.scenario;
  return absl::StrFormat(
      "{\n"
      "  \"nodes\": %u,\n"
      "  \"seed\": %u,\n"
      "  \"profile\": \"%s\",\n"
      "  \"lifeguard\": %s,\n"
      "  \"bootstrap\": \"%s\",\n"
      "  \"duration_s\": %.3f,\n"
      "  \"crashes\": %u,\n"
      "  \"join_converged_s\": %s,\n"
      "  \"suspect_first_s\": %s,\n"
      "  \"detect_first_s\": %s,\n"
      "  \"detect_all_s\": %s,\n"
      "  \"suspect_to_dead_s\": %s,\n"
      "  \"detected_by_all\": %u,\n"
      "  \"false_suspicions\": %u,\n"
      "  \"false_deaths\": %u,\n"
      "  \"false_deaths_of_slow\": %u,\n"
      "  \"healed_s\": %s,\n"
      "  \"packets_per_node_s\": %.3f,\n"
      "  \"bytes_per_node_s\": %.1f,\n"
      "  \"events\": %u,\n"
      "  \"restarted_events\": %u,\n"
      "  \"self_suspected_events\": %u,\n"
      "  \"self_failed_events\": %u,\n"
      "%s%s"
      "  \"host\": {\"wall_s\": %.3f, \"peak_rss_mb\": %.1f}\n"
      "}\n",
      s.nodes(), s.seed(), s.profile(), s.no_lifeguard() ? "false" : "true",
      s.bootstrap() == scenario::BOOTSTRAP_CONVERGED ? "converged" : "cold",
      s.duration_s(), r.crashes, Json(r.join_converged_s),
      Json(r.suspect_first_s), Json(r.detect_first_s), Json(r.detect_all_s),
      Json(r.suspect_to_dead_s), r.detected_by_all, r.false_suspicions,
      r.false_deaths, r.false_deaths_of_slow, Json(r.healed_s),
      r.packets_per_node_s, r.bytes_per_node_s, r.events, r.restarted_events,
      r.self_suspected_events, r.self_failed_events,
      EventsJson(r.user_events_and_queries), CoordinatesJson(r), host.wall_s,
      host.peak_rss_mb);
}

std::string ToCsv(const RunResult& r) {
  std::string out =
      "t_s,alive,suspect,dead,packets,bytes,user_events_delivered,"
      "query_responses\n";
  for (const SeriesPoint& p : r.series) {
    absl::StrAppendFormat(&out, "%g,%.3f,%.3f,%.3f,%u,%u,%u,%u\n", p.t, p.alive,
                          p.suspect, p.dead, p.packets, p.bytes,
                          p.user_events_delivered, p.query_responses);
  }
  return out;
}

// Two panels sharing the time axis: the average view (alive, suspect,
// dead) and the packets sent per second; crashes as red ticks, first
// detections as black ones.
std::string ToSvg(const RunResult& r) {
  constexpr double kW = 900, kH = 545, kLeft = 70, kRight = 20, kTop = 40;
  constexpr double kPanel = 190, kGap = 85;
  const double duration = r.scenario.duration_s();
  const double nodes = r.scenario.nodes();
  double max_packets = 1;
  for (const SeriesPoint& p : r.series)
    max_packets = std::max<double>(max_packets, p.packets);
  auto x = [&](double t) {
    return kLeft + (kW - kLeft - kRight) * (t / std::max(duration, 1e-9));
  };
  auto y_view = [&](double v) { return kTop + kPanel * (1 - v / nodes); };
  const double top2 = kTop + kPanel + kGap;
  auto y_packets = [&](double v) {
    return top2 + kPanel * (1 - v / max_packets);
  };
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
      "height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.0f\" y=\"22\" font-size=\"15\">roster-sim: %u members, "
      "%s, lifeguard %s, seed %u</text>\n",
      kW, kH, kLeft, r.scenario.nodes(), r.scenario.profile(),
      r.scenario.no_lifeguard() ? "off" : "on", r.scenario.seed());
  auto axes = [&](double top, const std::string& label, double max) {
    absl::StrAppendFormat(
        &svg,
        "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
        "fill=\"none\" stroke=\"#999\"/>\n"
        "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n"
        "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.0f</text>\n"
        "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>\n",
        kLeft, top, kW - kLeft - kRight, kPanel, kLeft, top - 6, label,
        kLeft - 4, top + 10, max, kLeft - 4, top + kPanel);
  };
  axes(kTop, "average view: alive (green), suspect (orange), dead (grey)",
       nodes);
  axes(top2, "packets sent per second (cluster)", max_packets);
  absl::StrAppendFormat(&svg,
                        "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.0f "
                        "s</text>\n",
                        kW - kRight, top2 + kPanel + 16, duration);
  auto polyline = [&](auto value, auto y, const char* color) {
    std::string pts;
    for (const SeriesPoint& p : r.series)
      absl::StrAppendFormat(&pts, "%.1f,%.1f ", x(p.t), y(value(p)));
    absl::StrAppendFormat(&svg,
                          "<polyline fill=\"none\" stroke=\"%s\" "
                          "stroke-width=\"1.5\" points=\"%s\"/>\n",
                          color, pts);
  };
  polyline([](const SeriesPoint& p) { return p.alive; }, y_view, "#2a2");
  polyline([](const SeriesPoint& p) { return p.suspect; }, y_view, "#e80");
  polyline([](const SeriesPoint& p) { return p.dead; }, y_view, "#777");
  polyline([](const SeriesPoint& p) { return double(p.packets); }, y_packets,
           "#36c");
  auto ticks = [&](const std::vector<double>& times, const char* color,
                   double dy) {
    for (double t : times) {
      absl::StrAppendFormat(&svg,
                            "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" "
                            "y2=\"%.0f\" stroke=\"%s\"/>\n",
                            x(t), x(t), kTop + kPanel + dy,
                            kTop + kPanel + dy + 10, color);
    }
  };
  ticks(r.crash_times, "#d00", 4);
  ticks(r.detection_times, "#000", 18);
  absl::StrAppendFormat(&svg,
                        "<text x=\"%.0f\" y=\"%.0f\">red: crashes, black: "
                        "first declared dead</text>\n</svg>\n",
                        kLeft, kTop + kPanel + 46);
  return svg;
}

std::string ToText(const RunResult& r, const HostStats& host) {
  const auto& s = r.scenario;
  std::string out = absl::StrFormat(
      "roster-sim: %u members, profile %s, lifeguard %s, %s bootstrap, seed "
      "%u, %.0f simulated seconds\n",
      s.nodes(), s.profile(), s.no_lifeguard() ? "off" : "on",
      s.bootstrap() == scenario::BOOTSTRAP_CONVERGED ? "converged" : "cold",
      s.seed(), s.duration_s());
  if (r.join_converged_s) {
    absl::StrAppendFormat(&out,
                          "converged: every member saw all alive at %.1f s\n",
                          *r.join_converged_s);
  } else {
    absl::StrAppend(&out, "converged: never\n");
  }
  if (r.crashes > 0) {
    absl::StrAppendFormat(
        &out, "crashes: %u, declared dead by every live member: %u\n",
        r.crashes, r.detected_by_all);
    out += Line("first suspicion after", r.suspect_first_s);
    out += Line("declared dead (first) after", r.detect_first_s);
    out += Line("declared dead (all) after", r.detect_all_s);
  }
  if (r.healed_s) {
    absl::StrAppendFormat(
        &out, "healed: all alive again %.1f s after the heal\n", *r.healed_s);
  }
  const EventResults& e = r.user_events_and_queries;
  if (e.user_events > 0) {
    absl::StrAppendFormat(
        &out, "user events: %u, deliveries to live members missing: %u\n",
        e.user_events, e.deliveries_missing);
    out += Line("delivered after", e.dissemination_s);
  }
  if (e.queries > 0) {
    absl::StrAppendFormat(&out,
                          "queries: %u (%u finished, %u with every live "
                          "member's answer), answers missing: %u\n",
                          e.queries, e.queries_finished, e.queries_complete,
                          e.answers_missing);
    out += Line("last answer after", e.completion_s);
  }
  if (r.coordinates && r.coordinates->pairs > 0) {
    absl::StrAppendFormat(
        &out,
        "coordinates: median relative RTT error %.1f%% (p90 %.1f%%) over %u "
        "pairs\n",
        100 * r.coordinates->median_relative_error,
        100 * r.coordinates->p90_relative_error, r.coordinates->pairs);
  }
  absl::StrAppendFormat(
      &out,
      "false suspicions: %u, false deaths: %u (of slow or paused members: "
      "%u)\n"
      "traffic: %.2f packets, %.0f bytes per member per second\n"
      "host: %.2f s wall, %.0f MB peak RSS\n",
      r.false_suspicions, r.false_deaths, r.false_deaths_of_slow,
      r.packets_per_node_s, r.bytes_per_node_s, host.wall_s, host.peak_rss_mb);
  return out;
}

}  // namespace roster::sim
