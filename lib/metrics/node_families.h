// What a scrape reads from a Node, as Prometheus families: its counters,
// its members by state, its health score and its queue depths. Pure: the
// caller reads the node.
#ifndef ROSTER_METRICS_NODE_FAMILIES_H_
#define ROSTER_METRICS_NODE_FAMILIES_H_

#include <vector>

#include "prometheus/metric_family.h"
#include "roster/counters.h"
#include "roster/member.h"

namespace roster::metrics {

// Appends the families to `out`. Every family is present whatever the
// values (a state or reason with none is a 0), so that a series never
// vanishes between scrapes.
void AppendNodeFamilies(const NodeCounters& counters,
                        const std::vector<MemberInfo>& members, int health,
                        std::vector<prometheus::MetricFamily>& out);

}  // namespace roster::metrics

#endif  // ROSTER_METRICS_NODE_FAMILIES_H_
